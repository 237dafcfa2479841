#!/usr/bin/env bash
# The service on the embedded default (SQLite file, tasks run in-process) with demo data:
# installs the project, migrates, creates the demo venues (same seed, same venue ids: curl lines
# printed by an earlier run keep working) and the `demo` user, prints its token and
# ready-to-paste curl commands, then serves on 127.0.0.1:8000 until Ctrl-C.
#
#   bash scripts/demo.sh              # prepare and serve
#   bash scripts/demo.sh --no-serve   # prepare only
#   PORT=8001 bash scripts/demo.sh    # serve on another port
set -euo pipefail
cd "$(dirname "$0")/.."

serve=1
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,9p' "$0" | cut -c3-; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done
port="${PORT:-8000}"

# The embedded default, whatever the shell has set.
unset DATABASE_URL CELERY_BROKER_URL
export DJANGO_SETTINGS_MODULE=config.settings.local

bash scripts/bootstrap.sh
.venv/bin/python manage.py migrate --verbosity 0
.venv/bin/python manage.py demo_data --reset | sed "s#http://127.0.0.1:8000#http://127.0.0.1:${port}#"

echo
if [ "$serve" = 1 ]; then
  echo "Serving on http://127.0.0.1:${port} (API docs at /api/docs/). Ctrl-C to stop."
  exec .venv/bin/python manage.py runserver "127.0.0.1:${port}" --noreload
fi
echo "Not serving (--no-serve). Start the service with:"
echo "  DJANGO_SETTINGS_MODULE=config.settings.local .venv/bin/python manage.py runserver 127.0.0.1:${port}"
