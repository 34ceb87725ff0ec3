#!/usr/bin/env bash
# Seeds the fuzz corpora (corpus/<target>/, not committed) from the track
# fixtures: the repo's tests/data/fixtures and, where it exists,
# ../shared/fixtures. Files over 64 KiB are left out: libFuzzer mutates
# small inputs far faster, and the structure is the same in small files.
# read_any's inputs start with one byte that picks the content type.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
sources=("$repo/tests/data/fixtures")
[ -d "$repo/../shared/fixtures" ] && sources+=("$(cd "$repo/../shared/fixtures" && pwd)")

mkdir -p "$here"/corpus/{read_gpx,read_kml,read_geojson,read_any,import_town}
# The import document: the example of DESIGN.md (seeds/town.json).
cp "$here/seeds/town.json" "$here/corpus/import_town/design-example.json"
seed() { # target selector file
    local name
    name=$(sha1sum "$3" | cut -c1-16)
    cp "$3" "$here/corpus/$1/$name"
    { printf "\\x$2"; cat "$3"; } > "$here/corpus/read_any/$2-$name"
}
count=0
while IFS= read -r -d '' file; do
    case "${file,,}" in
        *.gpx) seed read_gpx 00 "$file" ;;
        *.kml) seed read_kml 01 "$file" ;;
        *.geojson | *.json) seed read_geojson 02 "$file" ;;
        *) continue ;;
    esac
    count=$((count + 1))
done < <(find "${sources[@]}" -type f -size -65537c -print0)
echo "seeded $count files into $here/corpus/"
