#!/bin/bash
# Issue 19, reproduction 1 (masked-type object transformer), PILOT scale: regenerates the data,
# pretrains and runs the finetuning scans whose JSONs are
#   tests/benchmarks/results/pilot_masked_type_whpm_study_recipe.json   (the study's recipe, batch 1024)
#   tests/benchmarks/results/pilot_masked_type_whpm_batch128.json       (the same with batch 128)
# Usage: HEPFM_DATA=/some/folder tests/benchmarks/repro/masked_type_pilot/run.sh   (from the repository root)
# Cost here (2 shared cores): generation ~35 min, pretraining ~50 min, each scan 20-60 min.
set -euo pipefail
: "${HEPFM_DATA:?set HEPFM_DATA to a folder for the generated files}"
here=$(dirname "$0")
hepfm generate --process heavy_higgs_whpm --events 30000 --seed 1901 -o "$HEPFM_DATA/sig_whpm.root" -q
hepfm generate --process ttbar_semilep --events 30000 --seed 1902 -o "$HEPFM_DATA/bkg_ttsl.root" -q
# pretraining data: inclusive tt, multiple interactions off (the documented domain shift of the protocol)
hepfm generate --process ttbar --events 60000 --seed 1903 -o "$HEPFM_DATA/pre_tt.root" --pythia 'PartonLevel:MPI = off' -q
hepfm pretrain "$here/pretrain.yaml" --set "data.directory=$HEPFM_DATA" -o "$HEPFM_DATA/pilot_backbone.pt"
scan() {  # $1: JSON name, then extra flags
  local out=$1; shift
  python3 tests/benchmarks/bench_pretraining.py --backbone "$HEPFM_DATA/pilot_backbone.pt" \
    --signal "$HEPFM_DATA/sig_whpm.root" --background "$HEPFM_DATA/bkg_ttsl.root" \
    --strategies scratch frozen finetune --test-per-class 2000 --validation-per-class 500 \
    --recipe masked_type_study --patience 0 --threads 2 --json "tests/benchmarks/results/$out" "$@"
}
scan pilot_masked_type_whpm_study_recipe.json --sizes 1000 --seeds 5
scan pilot_masked_type_whpm_batch128.json --sizes 1000 3000 --seeds 5 --batch-size 128
