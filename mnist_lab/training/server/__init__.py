"""The server's side of a training: the process that owns the runs admits, queues, follows and stores trainings.

- :mod:`.trainer`: the :class:`~.trainer.Trainer` the pages call, admission done once, the one job registry;
- :mod:`.job`: one training's lifecycle, in the calling thread or on a worker;
- :mod:`.progress`, :mod:`.outcomes`: its live progress and the pure texts of how it ended;
- :mod:`.follow`: the loop that takes a worker's messages until the training ends;
- :mod:`.fair_queue`: whose training starts next, over a small protocol;
- :mod:`.engine`, :mod:`.cluster_plan`: the Dask client and where trainings run;
- :mod:`.messages`, :mod:`.run_writes`: what is accepted from a worker, and the writes to the run store.
"""
