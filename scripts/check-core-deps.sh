#!/usr/bin/env bash
# The core must not depend on any network, database, AWS or web-framework
# crate (docs/architecture.md). Fails listing the offenders.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='^(hyper|hyper-util|h2|http|http-body|reqwest|ureq|isahc|surf|axum|actix-web|warp|rocket|tower-http|tonic|sqlx|sqlx-core|rusqlite|libsqlite3-sys|tokio-postgres|postgres|diesel|sea-orm|aws-.*|lettre|mail-send|lambda_http|lambda_runtime|rustls|native-tls|openssl)$'
offenders=$(cargo tree -p chatkit-leads-core -e normal --all-features --prefix none --locked \
  | awk '{print $1}' | sort -u | grep -E "$banned" || true)
if [ -n "$offenders" ]; then
  echo "chatkit-leads-core depends on forbidden crates:" >&2
  echo "$offenders" >&2
  exit 1
fi
echo "chatkit-leads-core: no network, database, AWS or web-framework crates"
