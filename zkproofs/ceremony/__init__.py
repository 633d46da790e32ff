"""Multi-party setup ceremonies compatible with snarkjs (BGM17: Bowe, Gabizon, Miers 2017,
ePrint 2017/1050).

- :mod:`zkproofs.ceremony.binfile`: the iden3 binary container of ``.ptau`` and ``.zkey``.
- :mod:`zkproofs.ceremony.encoding`: field elements and points in snarkjs' layouts.
"""
