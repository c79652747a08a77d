#!/usr/bin/env bash
# Downloads the released GPEN weights and checks each file with gst-gpen's own
# reader (gpen-model-info) before keeping it.
#
#   models/fetch-models.sh                    GPEN-BFR-512 and RetinaFace-R50 (what gpen-enhance uses)
#   models/fetch-models.sh --all              every released file (1024/2048 come from ModelScope)
#   models/fetch-models.sh GPEN-BFR-256 ...   the files named (ParseNet-latest: the paste mask's face parser)
#   models/fetch-models.sh NAME.pth=URL       another GPEN or RetinaFace file (a fine-tune, a mirror)
#   models/fetch-models.sh --verify FILE...   only check files you already have
#   models/fetch-models.sh --list             what each file is for, and where it comes from
#
# Files go to --dir DIR, else $GPEN_MODEL_DIR, else the folder of this script.
# GPEN_MODEL_MIRROR=URL fetches released files from URL/NAME instead (a local
# copy or a mirror; file:// works). A download that fails its check is deleted;
# the exit status is 1 when any file is missing or invalid.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
licence="The GPEN authors released these weights for academic and non-commercial use only (© Alibaba, 2021)."

die() { echo "fetch-models: $*" >&2; exit 2; }

# Our reader: next to this script in the build tree, an installed copy, or $GPEN_MODEL_INFO.
find_model_info() {
  local candidate
  for candidate in "${GPEN_MODEL_INFO:-}" "$here/../build/tools/gpen-model-info" \
                   "$here/../../../bin/gpen-model-info" "$(command -v gpen-model-info || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  die "gpen-model-info not found: build gst-gpen first (./setup.sh), or set GPEN_MODEL_INFO"
}

download() {  # url destination
  if command -v curl >/dev/null; then
    local meter=(--silent --show-error)
    [ -t 2 ] && meter=(--progress-bar)
    curl "${meter[@]}" --fail --location --retry 3 --continue-at - --output "$2" "$1"
  elif command -v wget >/dev/null; then
    wget --continue --output-document "$2" "$1"
  else
    die "neither curl nor wget is installed"
  fi
}

model_info="$(find_model_info)"
dir="${GPEN_MODEL_DIR:-$here}"
all=false
verify_only=false
requests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a folder"; dir="$2"; shift 2 ;;
    --all) all=true; shift ;;
    --verify) verify_only=true; shift ;;
    --list)
      "$model_info" --list | while IFS=$'\t' read -r file kind detail default url source purpose; do
        printf '%-20s %s (%s %s)\n%20s from %s\n%20s (%s)\n' "$file" "$purpose" "$kind" "$detail" "" "$url" "" "$source"
      done
      echo "$licence"
      exit 0 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) requests+=("$1"); shift ;;
  esac
done

if $verify_only; then
  [ ${#requests[@]} -gt 0 ] || die "--verify needs files"
  exec "$model_info" "${requests[@]}"
fi

# name -> url from the catalog (gpen-model-info --list), and the defaults.
declare -A url_of=()
defaults=()
everything=()
while IFS=$'\t' read -r file kind detail default url source purpose; do
  url_of["$file"]="$url"
  everything+=("$file")
  [ "$default" = default ] && defaults+=("$file")
done < <("$model_info" --list)

if $all; then
  requests+=("${everything[@]}")
elif [ ${#requests[@]} -eq 0 ]; then
  requests=("${defaults[@]}")
fi

mkdir -p "$dir"
echo "$licence"
echo "Read their terms (https://github.com/yangxy/GPEN#license) before you use them."
failed=0
for request in "${requests[@]}"; do
  check=(--as)
  if [[ "$request" == *=* ]]; then  # NAME=URL: any valid GPEN or RetinaFace file
    name="${request%%=*}"
    url="${request#*=}"
    check=()
  else
    name="$request"
    [[ "$name" == *.pth ]] || name="$name.pth"
    [ -n "${url_of[$name]:-}" ] || { echo "fetch-models: $request is not a released model (see --list)" >&2; failed=1; continue; }
    url="${url_of[$name]}"
    [ -z "${GPEN_MODEL_MIRROR:-}" ] || url="${GPEN_MODEL_MIRROR%/}/$name"
    check=(--as "$name")
  fi
  target="$dir/$name"
  if [ -f "$target" ] && "$model_info" "${check[@]}" "$target" >/dev/null 2>&1; then
    echo "$name: already here and valid"
    continue
  fi
  echo "$name: downloading $url"
  if ! download "$url" "$target.part"; then
    echo "fetch-models: $name: download failed (run again to resume it)" >&2
    failed=1
    continue
  fi
  # Keep the file only if our reader loads it as what it should be.
  if "$model_info" "${check[@]}" "$target.part"; then
    mv -f "$target.part" "$target"
    echo "$name: saved as $target"
  else
    echo "fetch-models: $name: the downloaded file is not valid; deleted it" >&2
    rm -f "$target.part"
    failed=1
  fi
done
exit $failed
