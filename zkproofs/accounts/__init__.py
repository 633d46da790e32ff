"""Account ingestion: customer-balance files -> :class:`AccountSet` for the liability tree.

Public API (re-exported here):

* :func:`load_accounts` / :func:`detect_format` (formats ``csv``, ``summa``,
  ``dapol``, ``okx``, ``binance``), :data:`FORMATS`;
* :func:`parse_amount` / :func:`format_amount` (exact decimal <-> base units),
  :data:`DEFAULT_DECIMALS`;
* :func:`load_binance_assets_info` / :class:`BinanceAssetInfo` (prices and
  collateral tiers) and :func:`load_binance` (with an explicit config file);
* the model: :class:`Asset`, :class:`Account`, :class:`AccountSet`,
  :data:`MAX_AMOUNT`; the error :class:`~zkproofs.errors.AccountsError`.
"""

from zkproofs.accounts.amounts import DEFAULT_DECIMALS, format_amount, parse_amount
from zkproofs.accounts.binance import BinanceAssetInfo, load_binance, load_binance_assets_info
from zkproofs.accounts.loader import FORMATS, detect_format, load_accounts
from zkproofs.accounts.model import MAX_AMOUNT, Account, AccountSet, Asset
from zkproofs.errors import AccountsError

__all__ = [
    "DEFAULT_DECIMALS",
    "FORMATS",
    "MAX_AMOUNT",
    "Account",
    "AccountSet",
    "AccountsError",
    "Asset",
    "BinanceAssetInfo",
    "detect_format",
    "format_amount",
    "load_accounts",
    "load_binance",
    "load_binance_assets_info",
    "parse_amount",
]
