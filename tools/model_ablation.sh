#!/bin/sh
# Ablation Groups I–V (Duan et al. 2020, Table 1) on the cold-start labeled set.
# usage: model_ablation.sh PHRASEWISE LABELS PRETRAIN_DIR UNLABELED_DIR OUT_DIR [TRAIN FLAGS…]
set -e
PW=$1; L=$2; PRE=$3; UNL=$4; OUT=$5; shift 5; EXTRA="$*"  # e.g. --predictor paper
mkdir -p "$OUT"
$PW train --labels "$L" --config compact --no-attention $EXTRA --out "$OUT/I" > "$OUT/I.json"
$PW train --labels "$L" --encoder "$PRE" --no-attention $EXTRA --out "$OUT/II" > "$OUT/II.json"
$PW train --labels "$L" --encoder "$PRE" $EXTRA --out "$OUT/III" > "$OUT/III.json"
$PW train --labels "$L" --encoder "$PRE" --balanced $EXTRA --out "$OUT/IV" > "$OUT/IV.json"
$PW coascent --labels "$L" --model "$OUT/IV" --unlabeled "$UNL" --balanced --out "$OUT/V" > "$OUT/V.json"
for g in I II III IV V; do
  python3 -c "import json,sys;r=json.load(open('$OUT/$g.json'));a=r['without_m'];b=r['with_m'];print('$g', *['%.1f'%(100*a[k]) for k in ('top1','top5','top10')], '|', *['%.1f'%(100*b[k]) for k in ('top1','top5','top10')], '| prior', *(['%.1f'%(100*r['prior'][k]) for k in ('top1','top5','top10')] if r.get('prior') else ['-']))"
done
