#!/usr/bin/env bash
# Regenerate the ceremony transcript that `zkproofs demo` verifies and uses
# (zkproofs/data/ceremony/): phase 1 (2^14 powers of tau) and phase 2 for the demo's
# circuits, each with three contributions and a beacon, run from the CLI exactly
# as a ceremony's participants would run it, in a scratch folder.
#
# Usage, from the repository root with zkproofs installed:
#   scripts/demo_ceremony.sh                 # everything, phase 1 included (about 20 minutes on 2 cores)
#   scripts/demo_ceremony.sh liquidation     # phase 2 of the named circuits only, on the bundled phase 1
#                                            # (about 8 minutes for one: preparing phase 1 takes 6.5)
# Run it whenever a demo circuit changes (the demo then fails at step 2: the bundled
# keys no longer match the circuit). The contributors' secrets come from the OS and
# are never written anywhere; the beacon is a fixed public value (a real ceremony
# uses one nobody can predict, such as a future block hash).
set -euo pipefail
out="$(pwd)/zkproofs/data/ceremony"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
BEACON=${BEACON:-7a6b70726f6f66732064656d6f20636572656d6f6e7920626561636f6e}  # "zkproofs demo ceremony beacon"
declare -A CIRCUITS=(
  [merkle_sum_inclusion]="--param assets=4 --param depth=8 --param pledges=0"
  [valid_transition]="--param assets=3 --param depth=32"
  [liquidation]="--param assets=3 --param depth=32"
)
if [ $# -eq 0 ]; then
  selected=("${!CIRCUITS[@]}")
  zkproofs ceremony ptau new --power 14 --out pot0.ptau
  zkproofs ceremony ptau contribute pot0.ptau pot1.ptau --name alice
  zkproofs ceremony ptau contribute pot1.ptau pot2.ptau --name bob
  zkproofs ceremony ptau contribute pot2.ptau pot3.ptau --name carol
  zkproofs ceremony ptau beacon pot3.ptau pot.ptau --beacon "$BEACON" --iterations-exp 10
else
  selected=("$@")
  for name in "${selected[@]}"; do
    [ -n "${CIRCUITS[$name]:-}" ] || { echo "unknown demo circuit $name (known: ${!CIRCUITS[*]})" >&2; exit 2; }
  done
  cp "$out/powers_of_tau_14.ptau" pot.ptau
fi
zkproofs ceremony ptau prepare pot.ptau prepared.ptau   # verifies pot.ptau first
mkdir -p staged
[ $# -eq 0 ] && cp pot.ptau staged/powers_of_tau_14.ptau
for name in "${selected[@]}"; do
  params=${CIRCUITS[$name]}
  label=$(printf '%s\n' $params | grep -v -- '^--param$' | sort | tr -d '=' | paste -sd-)
  file="$name-$label.zkey"   # every parameter, sorted: e.g. merkle_sum_inclusion-assets4-depth8-pledges0.zkey
  zkproofs ceremony key new $name $params --ptau prepared.ptau --out k0.zkey --quiet
  zkproofs ceremony key contribute k0.zkey k1.zkey --name alice
  zkproofs ceremony key contribute k1.zkey k2.zkey --name bob
  zkproofs ceremony key contribute k2.zkey k3.zkey --name carol
  zkproofs ceremony key beacon k3.zkey "staged/$file" --beacon "$BEACON" --iterations-exp 10
  zkproofs ceremony key verify "staged/$file" $name $params --ptau pot.ptau --min-contributions 4 --quiet
done
mkdir -p "$out"
[ $# -eq 0 ] && rm -f "$out"/*.ptau "$out"/*.zkey
cp staged/* "$out"/
ls -l "$out"
