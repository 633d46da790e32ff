"""Multi-party setup ceremonies compatible with snarkjs (BGM17: Bowe, Gabizon, Miers 2017,
ePrint 2017/1050).

- :mod:`zkproofs.ceremony.binfile`: the iden3 binary container of ``.ptau`` and ``.zkey``.
- :mod:`zkproofs.ceremony.encoding`: field elements and points in snarkjs' layouts.
- :mod:`zkproofs.ceremony.blake2b`, :mod:`zkproofs.ceremony.rng`: snarkjs' resumable
  transcript hash and deterministic sampling (hash-to-G2, beacons).
- :mod:`zkproofs.ceremony.ptau`: the ``.ptau`` file; :mod:`zkproofs.ceremony.powersoftau`:
  phase 1 (new, contribute, beacon, verify, prepare).
"""
