"""The worker's side of a training: the fit (:mod:`.fit`), the Dask task and worker plugin that run it
(:mod:`.task`), and the embedded cluster's process (:mod:`.local_cluster`).

It imports the message format (:mod:`mnist_lab.training.protocol`), never the server's side: a worker knows
nothing of the run store, the queue or the pages.
"""
