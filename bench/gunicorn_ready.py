"""gunicorn config for the benchmarks (`-c python:bench.gunicorn_ready`): each worker says when
it has loaded the app. gunicorn listens before its workers have imported and built the app
(`create_app()` trains the understanding and safety models, seconds on a busy machine), so a
load that starts when the port opens measures start-up, not the webhook."""
import os
from pathlib import Path


def post_worker_init(worker):
    folder = os.environ.get("HOMEWARD_BENCH_READY")
    if folder:
        (Path(folder) / str(worker.pid)).touch()
