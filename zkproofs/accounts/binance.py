"""Binance's proof-of-solvency user CSV and its asset config (prices, collateral tiers).

Source: binance/zkmerkle-proof-of-solvency (MIT): ``src/sampledata/
sample_users{0,1}.csv``, ``cex_assets_info.csv`` and the generator
``generate_user_files.py``; the validity rules are those of
``src/utils/utils.go`` (``ReadUserDataFromCsvFile``,
``CalculateAssetValueForCollateral``, ``ParseTiersRatioFromStr``), restated
here from their behaviour, not copied.

User file layout: ``rn,id`` then, per token ``t``, six columns ``e_t`` (equity),
``d_t`` (debt), ``t`` (net, e - d), ``vl_t``, ``m_t``, ``pm_t`` (equity pledged
as collateral for VIP loans, margin, portfolio margin), then
``total_net_balance_usdt``. Amounts are decimal strings; every token gets 8
decimals here and symbols are upper-cased. ``rn``, the net column and
``total_net_balance_usdt`` are not read (Binance's reader ignores them too;
the sample's net column is float arithmetic such as ``0.07843069000000008``).

An account is *invalid* (Binance drops it; we list it in
``AccountSet.rejected`` with the reason) when, checking tokens in file order:

1. an amount is negative or above 2^64 - 1 base units (Binance's
   ``ConvertFloatStrToUint64`` fails), or
2. for a token with non-zero equity or debt, ``vl + m + pm > equity`` (the
   generator's invalid type 0: vl = e/2, m = e/4, pm = e/2), or
3. over the whole account, the debt value ``sum(d * price)`` exceeds the
   collateral value ``sum(tiered(vl * price) + tiered(m * price) +
   tiered(pm * price))`` (the generator's invalid type 1: debt set 1% above
   what the collateral covers).

The rejected rows' equity and debt columns are summed per token, as written,
into ``AccountSet.rejected_equity`` / ``rejected_debt``, so that a tree built
without them can say how much it leaves out.

A token with zero equity and zero debt is skipped, as Binance skips it: its
collateral columns count for nothing and its pledged amounts are 0. The set has
three pledge classes, :data:`PLEDGES` = (``loan``, ``margin``, ``portfolio``),
each valued by its own tier table, so ``Account.collateral`` is
``vl_1..vl_A, m_1..m_A, pm_1..pm_A`` (class-major) and the tree commits all
three (statement 3 of the global proof).

Malformed text (not a decimal number, more than 8 decimals, a bad id, a bad
header, the wrong number of fields) raises :class:`~zkproofs.errors.AccountsError`
instead: the file is broken, which is not an account-level decision.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from zkproofs.accounts.amounts import AmountError, AmountOutOfRange, format_amount, to_base_units
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.accounts.source import Cell, IdRegistry, Progress, check_width, location, open_csv
from zkproofs.errors import AccountsError

AMOUNT_DECIMALS = 8
"""Decimals of every token in a Binance user file (its amounts have at most 8)."""

PLEDGES = ("loan", "margin", "portfolio")
"""Binance's pledge classes, in ``Account.collateral``'s order: collateral for VIP loans, margin, portfolio margin."""

TIER_VALUE_SCALE = 10**16
"""Binance's value unit per USDT: tier bounds are whole USDT times 1e16 (utils.go)."""

MAX_TIER_BOUNDARY = 2**118
"""Binance's cap on a tier bound in value units (MaxTierBoundaryValue)."""

MAX_PRICE = 2**128 - 1
"""Bound on a fixed-point price (prices at 16 decimals exceed 64 bits)."""
MAX_REJECTED = 2**256 - 1
"""Largest magnitude (base units) of an amount in a rejected row; larger is malformed, not an account decision."""

Tier = tuple[int, int, int]
"""(low, high, ratio_pct): value in (low, high] USDT counts at ratio_pct percent."""

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_TIER = re.compile(r"([0-9]+)-([0-9]+):([0-9]+)", re.ASCII)
_ID = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_INFO_HEADERS = (
    ["symbol", "usdt_price", "loan_tiers_ratio", "margin_tiers_ratio", "portfolio_tiers_ratio"],
    ["token", "asset_usdt_price", "collateral_vip_loan_ratio_tiers", "collateral_margin_ratio_tiers", "collateral_portfolio_margin_ratio_tiers"],
)


@dataclass(frozen=True)
class BinanceAssetInfo:
    """One token of ``cex_assets_info.csv``.

    ``usdt_price`` is the price of one whole token in USDT as an exact integer
    in ``price_decimals``-decimal fixed point (``65100.22`` at 8 decimals is
    ``6_510_022_000_000``). Each tier list holds ``(low, high, ratio_pct)``
    with bounds in whole USDT, highs strictly increasing, ratio in [0, 100];
    an empty list means the token has no collateral value for that product.
    """

    symbol: str
    usdt_price: int
    price_decimals: int
    loan_tiers: tuple[Tier, ...]
    margin_tiers: tuple[Tier, ...]
    portfolio_tiers: tuple[Tier, ...]

    def value(self, units: int) -> int:
        """USDT value of ``units`` base units (10**-8 token), in 10**-(8 + price_decimals) USDT."""
        return units * self.usdt_price

    def collateral_value(self, loan: int, margin: int, portfolio: int) -> int:
        """Tiered collateral value of pledged base units, in 10**-(8 + price_decimals) USDT.

        Each pledge is valued at ``units * price`` and discounted through its
        product's tiers (:func:`tiered_value`); the three results are added,
        as Binance's ``CalculateAssetValueForCollateral`` does.
        """
        unit = 10 ** (AMOUNT_DECIMALS + self.price_decimals)
        return (
            tiered_value(self.value(loan), self.loan_tiers, unit)
            + tiered_value(self.value(margin), self.margin_tiers, unit)
            + tiered_value(self.value(portfolio), self.portfolio_tiers, unit)
        )


def tiered_value(value: int, tiers: tuple[Tier, ...], unit: int) -> int:
    """The part of ``value`` that counts as collateral under progressive ``tiers``.

    ``unit`` is the number of value units per USDT. The slice of ``value``
    between the previous tier's high (0 for the first) and this tier's high
    counts at the tier's ratio, each slice floored separately; value above the
    last high counts for nothing; no tiers count for nothing. With
    ``unit = 1e16`` this equals Binance's ``CalculateAssetValueViaTiersRatio``.
    O(len(tiers)).
    """
    counted = 0
    previous = 0
    for _, high, ratio in tiers:
        bound = high * unit
        if value <= bound:
            return counted + (value - previous) * ratio // 100
        counted += (bound - previous) * ratio // 100
        previous = bound
    return counted


def _parse_tiers(text: str, cell: Cell) -> tuple[Tier, ...]:
    if text.strip("[]") == "":
        return ()
    if not (text.startswith("[") and text.endswith("]")):
        raise cell.error(f'tiers "{text}" must be written "[low-high:ratio,...]"')
    tiers: list[Tier] = []
    for item in text[1:-1].split(","):
        match = _TIER.fullmatch(item.strip(" "))
        if match is None:
            raise cell.error(f'tier "{item}" is not "low-high:ratio" with integers')
        low, high, ratio = (int(group) for group in match.groups())
        if low > high:
            raise cell.error(f'tier "{item}": low {low} is above high {high}')
        if ratio > 100:
            raise cell.error(f'tier "{item}": ratio {ratio} is above 100 percent')
        if high * TIER_VALUE_SCALE > MAX_TIER_BOUNDARY:
            raise cell.error(f'tier "{item}": high {high} is above Binance\'s cap 2^118 / 1e16 USDT')
        if tiers and high <= tiers[-1][1]:
            raise cell.error(f'tier "{item}": high {high} does not increase')
        tiers.append((low, high, ratio))
    return tuple(tiers)


def load_binance_assets_info(path, *, price_decimals: int = 8) -> dict[str, BinanceAssetInfo]:
    """Read Binance's ``cex_assets_info.csv``: upper-case symbol -> :class:`BinanceAssetInfo`.

    Accepts the sample header (``symbol,usdt_price,loan_tiers_ratio,...``)
    and the production one (``token,asset_usdt_price,collateral_vip_loan_
    ratio_tiers,...``). Prices are kept exact at ``price_decimals`` (8 by
    default; the production file quotes 16-digit prices, load it with 16).
    Raises AccountsError (line, column) for a bad header, a record that is not
    5 fields, an empty/invalid/duplicate symbol, a price that is not an exact
    decimal at ``price_decimals``, and malformed or inconsistent tiers.
    """
    header_line, header, records = open_csv(path)
    if header not in _INFO_HEADERS:
        raise AccountsError(f'unexpected header "{",".join(header)}"', path=path, line=header_line)
    out: dict[str, BinanceAssetInfo] = {}
    for line, fields in records:
        check_width(path, line, fields, header)
        token = fields[0]
        if not _TOKEN.fullmatch(token):
            raise Cell(path, line, header[0]).error(f'invalid token "{token}"')
        symbol = token.upper()
        if symbol in out:
            raise Cell(path, line, header[0]).error(f'duplicate token "{token}"')
        out[symbol] = BinanceAssetInfo(
            symbol=symbol,
            usdt_price=Cell(path, line, header[1]).amount(fields[1], price_decimals, maximum=MAX_PRICE),
            price_decimals=price_decimals,
            loan_tiers=_parse_tiers(fields[2], Cell(path, line, header[2])),
            margin_tiers=_parse_tiers(fields[3], Cell(path, line, header[3])),
            portfolio_tiers=_parse_tiers(fields[4], Cell(path, line, header[4])),
        )
    if not out:
        raise AccountsError("no tokens after the header", path=path, line=header_line)
    return out


def _token_columns(path, line: int, header: list[str]) -> list[str]:
    """The tokens of a user-file header, validated group by group."""
    if len(header) < 9 or (len(header) - 3) % 6 or header[:2] != ["rn", "id"] or header[-1] != "total_net_balance_usdt":
        raise AccountsError(
            "the header must be rn,id, then e_t,d_t,t,vl_t,m_t,pm_t per token t, then total_net_balance_usdt", path=path, line=line
        )
    tokens = []
    for start in range(2, len(header) - 1, 6):
        token = header[start + 2]
        expected = [f"e_{token}", f"d_{token}", token, f"vl_{token}", f"m_{token}", f"pm_{token}"]
        for name, want in zip(header[start : start + 6], expected):
            if name != want or not _TOKEN.fullmatch(token):
                raise AccountsError(f'expected column "{want}" of token "{token}", found "{name}"', path=path, line=line, column=name)
        tokens.append(token)
    return tokens


class MissingAssetsInfo(AccountsError):
    """A Binance user file with no ``cex_assets_info.csv`` beside it (and none named)."""


def load_binance(path, assets_info=None, *, price_decimals: int = 8, progress: Progress | None = None) -> AccountSet:
    """Read a Binance user CSV; invalid accounts go to ``rejected``, valid ones load.

    ``assets_info`` is the ``cex_assets_info.csv`` with the prices and tiers
    the validity rules need (default: that name beside ``path``;
    :class:`MissingAssetsInfo`, saying where it looked, when there is none). Assets are
    the header's tokens, upper-cased, decimals 8; the set's pledge classes are
    :data:`PLEDGES` and ``collateral`` is vl, m and pm per token (class-major). See
    the module docstring for the rules. Raises
    AccountsError for malformed input (including a token without a price in
    ``assets_info``, an id that is not 64 hex digits, a duplicate id).
    O(rows x tokens).
    """
    if assets_info is None:
        info_path = Path(os.fspath(path)).absolute().parent / "cex_assets_info.csv"
        if not info_path.exists():
            raise MissingAssetsInfo(
                f"no cex_assets_info.csv beside it (looked for {info_path}); its prices and collateral tiers "
                "are needed to check the accounts",
                path=path,
            )
    else:
        info_path = Path(assets_info)
    info = load_binance_assets_info(info_path, price_decimals=price_decimals)
    header_line, header, records = open_csv(path, progress)
    tokens = _token_columns(path, header_line, header)
    for token in tokens:
        if token.upper() not in info:
            raise AccountsError(f'token "{token}" has no price in {info_path.name}', path=path, line=header_line, column=token)
    prices = [info[token.upper()] for token in tokens]
    value_decimals = AMOUNT_DECIMALS + price_decimals

    ids = IdRegistry()
    accounts: list[Account] = []
    rejected: list[tuple[str, str, str]] = []
    rejected_equity, rejected_debt = [0] * len(tokens), [0] * len(tokens)
    rows = 0
    for line, fields in records:
        rows += 1
        check_width(path, line, fields, header)
        account_id = fields[1]
        if not _ID.fullmatch(account_id):
            raise Cell(path, line, "id").error(f'id "{account_id}" is not 64 hex digits (Binance decodes it to 32 bytes)')
        # The id stands for 32 bytes: "AB.." and "ab.." are the same account, kept in lower case.
        account_id = ids.add(account_id.lower(), Cell(path, line, "id"))

        # Parse every amount first, so that malformed text raises even in a row rejected early.
        amounts: list[dict[str, int]] = []
        out_of_range: str | None = None
        for start, token in zip(range(2, len(header) - 1, 6), tokens):
            parsed = {}
            for kind, offset in (("e", 0), ("d", 1), ("vl", 3), ("m", 4), ("pm", 5)):
                column = header[start + offset]
                try:
                    value = to_base_units(fields[start + offset], AMOUNT_DECIMALS, signed=True)
                except AmountOutOfRange as exc:
                    out_of_range = out_of_range or f"{column}: {exc}"
                    # Kept exactly for the excluded totals; beyond 2^256 units the file is broken.
                    value = Cell(path, line, column).amount(fields[start + offset], AMOUNT_DECIMALS, signed=True, maximum=MAX_REJECTED)
                except AmountError as exc:
                    raise Cell(path, line, column).error(str(exc)) from None
                if value < 0:
                    out_of_range = out_of_range or f'{column}: negative amount "{fields[start + offset]}"'
                parsed[kind] = value
            amounts.append(parsed)

        reason = out_of_range
        debt_value = collateral_value = 0
        collateral = [0] * (len(PLEDGES) * len(tokens))
        if reason is None:
            for i, (token, a, price) in enumerate(zip(tokens, amounts, prices)):
                if a["e"] == 0 and a["d"] == 0:
                    continue
                pledged = a["vl"] + a["m"] + a["pm"]
                if pledged > a["e"]:
                    reason = (
                        f"{token.upper()}: collateral vl+m+pm = {format_amount(pledged, AMOUNT_DECIMALS)} "
                        f"exceeds equity {format_amount(a['e'], AMOUNT_DECIMALS)}"
                    )
                    break
                for k, kind in enumerate(("vl", "m", "pm")):
                    collateral[k * len(tokens) + i] = a[kind]
                debt_value += price.value(a["d"])
                collateral_value += price.collateral_value(a["vl"], a["m"], a["pm"])
        if reason is None and debt_value > collateral_value:
            reason = (
                f"debt value {format_amount(debt_value, value_decimals)} USDT exceeds "
                f"tiered collateral value {format_amount(collateral_value, value_decimals)} USDT"
            )
        if reason is not None:
            rejected.append((location(path, line), account_id, reason))
            for i, a in enumerate(amounts):
                rejected_equity[i] += a["e"]
                rejected_debt[i] += a["d"]
            continue
        accounts.append(
            Account(account_id, tuple(a["e"] for a in amounts), tuple(a["d"] for a in amounts), tuple(collateral))
        )
    if rows == 0:
        raise AccountsError("no accounts after the header", path=path, line=header_line)
    assets = tuple(Asset(token.upper(), AMOUNT_DECIMALS) for token in tokens)
    return AccountSet(
        assets, tuple(accounts), source=str(path), rejected=tuple(rejected),
        rejected_equity=tuple(rejected_equity), rejected_debt=tuple(rejected_debt), pledges=PLEDGES,
    )
