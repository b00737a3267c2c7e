from ui.common import coming_soon

coming_soon("Jobs", "a durable job queue with live progress, metric curves, artifacts, cancel and retry.", "Jobs")
