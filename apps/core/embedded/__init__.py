"""What the embedded default runs on instead of servers: a file-system broker and result
store whose waiters are woken at once (``wakeup``), and a worker timer that fires on time.

- ``broker.Transport``: kombu's file-system transport, with messages written whole (a
  reader never sees half a file) and consumers woken by the publisher instead of polling.
- ``results.FilesystemBackend``: Celery's file result store, written whole, with each
  waiting caller woken when its result is stored.
- ``timer.PromptTimer``: the worker's timer thread, woken when an earlier entry arrives
  (batch flushes of a worker that polls its broker run on it).

On a platform without named pipes (FIFOs) both fall back to polling.
"""
