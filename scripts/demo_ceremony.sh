#!/usr/bin/env bash
# Regenerate the ceremony transcript that `zkproofs demo` verifies and uses
# (zkproofs/data/ceremony/): phase 1 (2^14 powers of tau) and phase 2 for the demo's
# two circuits, each with three contributions and a beacon, run from the CLI exactly
# as a ceremony's participants would run it, in a scratch folder.
#
# Run it from the repository root, with zkproofs installed, whenever a demo circuit
# changes (the demo then fails at step 2: the bundled keys no longer match the
# circuit). About 16 minutes on 2 cores. The contributors' secrets come from the OS
# and are never written anywhere; the beacon is a fixed public value (a real
# ceremony uses one nobody can predict, such as a future block hash).
set -euo pipefail
out="$(pwd)/zkproofs/data/ceremony"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
BEACON=${BEACON:-7a6b70726f6f66732064656d6f20636572656d6f6e7920626561636f6e}  # "zkproofs demo ceremony beacon"
CIRCUITS=(
  "merkle_sum_inclusion --param assets=4 --param depth=8"
  "valid_transition --param assets=3 --param depth=32"
)
zkproofs ceremony ptau new --power 14 --out pot0.ptau
zkproofs ceremony ptau contribute pot0.ptau pot1.ptau --name alice
zkproofs ceremony ptau contribute pot1.ptau pot2.ptau --name bob
zkproofs ceremony ptau contribute pot2.ptau pot3.ptau --name carol
zkproofs ceremony ptau beacon pot3.ptau pot.ptau --beacon "$BEACON" --iterations-exp 10
zkproofs ceremony ptau prepare pot.ptau prepared.ptau   # verifies pot.ptau first
mkdir -p staged
cp pot.ptau staged/powers_of_tau_14.ptau
for circuit in "${CIRCUITS[@]}"; do
  read -r name _ a _ d <<<"$circuit"
  file="$name-${a%%=*}${a#*=}-${d%%=*}${d#*=}.zkey"   # e.g. merkle_sum_inclusion-assets4-depth8.zkey
  zkproofs ceremony key new $circuit --ptau prepared.ptau --out k0.zkey --quiet
  zkproofs ceremony key contribute k0.zkey k1.zkey --name alice
  zkproofs ceremony key contribute k1.zkey k2.zkey --name bob
  zkproofs ceremony key contribute k2.zkey k3.zkey --name carol
  zkproofs ceremony key beacon k3.zkey "staged/$file" --beacon "$BEACON" --iterations-exp 10
  zkproofs ceremony key verify "staged/$file" $circuit --ptau pot.ptau --min-contributions 4 --quiet
done
mkdir -p "$out"
rm -f "$out"/*.ptau "$out"/*.zkey
cp staged/* "$out"/
ls -l "$out"
