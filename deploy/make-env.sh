#!/bin/sh
# Write deploy/.env from deploy/production.env.example with fresh random secrets.
# Usage: deploy/make-env.sh [TARGET]   (default deploy/.env; never overwrites)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-"$here/.env"}
if [ -e "$target" ]; then
  echo "error: $target exists; secrets in use are not regenerated (move it away first)" >&2
  exit 1
fi
umask 077
: > "$target"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    *=__GENERATE__)
      # 48 random bytes, URL-safe: fits in URLs and YAML without quoting.
      secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')
      printf '%s=%s\n' "${line%%=*}" "$secret" >> "$target" ;;
    *) printf '%s\n' "$line" >> "$target" ;;
  esac
done < "$here/production.env.example"
echo "wrote $target (mode 0600); now fill in the WhatsApp values"
