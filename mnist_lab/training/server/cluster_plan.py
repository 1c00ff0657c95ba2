"""Where trainings run: an external Dask scheduler, or an embedded cluster sized to this machine (:func:`plan`).

With nothing configured, the engine is an embedded cluster on this machine, started on the first need: worker
processes (:mod:`mnist_lab.training.worker.local_cluster`) or, on a host with little memory, one worker thread
inside the server. ``MNIST_LAB_SCHEDULER=tls://host:8786`` makes it a client of an existing Dask scheduler instead,
whose workers then train (they need MNIST Lab installed, and the home directory for imported datasets).
``MNIST_LAB_WORKERS`` overrides the embedded cluster's choice: a number of worker processes, or ``threads``.

Who may command the workers: whoever connects to a Dask scheduler can run any code in its workers and read or
fill the run queues, so an external scheduler has a ``tls://`` address and the certificate files named in
``MNIST_LAB_DASK_TLS_CA``, ``MNIST_LAB_DASK_TLS_CERT`` and ``MNIST_LAB_DASK_TLS_KEY``; a plain ``tcp://`` address
is accepted on this machine's loopback only, unless ``MNIST_LAB_DASK_ALLOW_PLAINTEXT=1`` says the network is
trusted.

How the embedded cluster is sized: one worker per two cores, because TensorFlow already uses every core of its
process (two trainings on two cores each get half), and no more workers than the memory holds at
:data:`WORKER_BYTES` each after :data:`SERVER_BYTES` for the server. Below :data:`PROCESSES_FROM_BYTES` of memory,
training runs in a worker thread of the server (``processes=False``): one process holds TensorFlow once instead of
twice. Figures: ``benchmarks/engine_memory.py``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from mnist_lab.errors import ConfigError
from mnist_lab.text import plural

SCHEDULER_ENV = "MNIST_LAB_SCHEDULER"
WORKERS_ENV = "MNIST_LAB_WORKERS"
#: The certificate files of an external ``tls://`` scheduler: the CA that signed the cluster's certificates, and
#: this server's client certificate and key (PEM).
TLS_CA_ENV, TLS_CERT_ENV, TLS_KEY_ENV = "MNIST_LAB_DASK_TLS_CA", "MNIST_LAB_DASK_TLS_CERT", "MNIST_LAB_DASK_TLS_KEY"
TLS_ENVS = (TLS_CA_ENV, TLS_CERT_ENV, TLS_KEY_ENV)
#: ``1`` accepts a plain ``tcp://`` scheduler on another machine (a private network the operator trusts).
ALLOW_PLAINTEXT_ENV = "MNIST_LAB_DASK_ALLOW_PLAINTEXT"
#: Dask's address schemes that encrypt and authenticate.
TLS_SCHEMES = ("tls", "wss")
EXTERNAL, PROCESSES, THREADS = "external", "processes", "threads"
#: Memory one training worker needs: TensorFlow (0.8 GB) and a fit on full MNIST (1.0-1.2 GB measured), with room.
WORKER_BYTES = 1.5e9
#: Memory the web server needs with every page used (Streamlit, MNIST, a loaded model: 0.8-0.9 GB measured).
SERVER_BYTES = 1.0e9
#: Below this much memory the embedded cluster trains in a thread of the server instead of worker processes.
PROCESSES_FROM_BYTES = 3.5e9


@dataclass(frozen=True)
class Plan:
    """Where trainings run, and why.

    Attributes
    ----------
    kind : str
        ``external`` (a Dask scheduler elsewhere), ``processes`` (embedded worker processes) or ``threads``
        (one worker thread in this process).
    address : str
        The external scheduler's address; "" for the embedded cluster.
    workers : int
        Worker processes of the embedded cluster (1 for threads, 0 for external: the cluster decides).
    reason : str
        How the choice was made, in one sentence for the page and the README.
    tls : tuple of str
        An external ``tls://`` scheduler's CA, certificate and key files; empty otherwise.
    """

    kind: str
    address: str
    workers: int
    reason: str = field(compare=False)  # the same cluster, however it was chosen, is one engine
    tls: tuple[str, ...] = ()


def plan(environ: dict[str, str] | None = None) -> Plan:
    """Decide where trainings run from the environment and the machine (see the module's docstring).

    Raises
    ------
    ConfigError
        ``MNIST_LAB_WORKERS`` is neither a positive number nor ``threads``; or the scheduler's address and its
        TLS settings do not fit (see :func:`external_plan`).
    """
    environ = os.environ if environ is None else environ
    address = environ.get(SCHEDULER_ENV, "").strip()
    if address:
        return external_plan(address, environ)
    from dask.system import CPU_COUNT
    from distributed.system import MEMORY_LIMIT

    machine = f"{CPU_COUNT} cores, {MEMORY_LIMIT / 1e9:.1f} GB"
    wanted = environ.get(WORKERS_ENV, "").strip().lower()
    if wanted == THREADS:
        return Plan(THREADS, "", 1, f"one worker thread in the server ({WORKERS_ENV}=threads; {machine})")
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise ConfigError(f"{WORKERS_ENV} must be a number of worker processes (1 or more) or 'threads', "
                              f"not {wanted!r}")
        return Plan(PROCESSES, "", int(wanted), f"{plural(int(wanted), 'worker process', 'worker processes')} ({WORKERS_ENV}; {machine})")
    if MEMORY_LIMIT < PROCESSES_FROM_BYTES:
        return Plan(THREADS, "", 1, f"one worker thread in the server: {machine} is too little memory for "
                                    "TensorFlow in a second process")
    workers = max(1, min(CPU_COUNT // 2, int((MEMORY_LIMIT - SERVER_BYTES) // WORKER_BYTES)))
    return Plan(PROCESSES, "", workers, f"{plural(workers, 'worker process', 'worker processes')} on this machine ({machine}: one per two "
                                        "cores, each with room for TensorFlow and a full-MNIST fit)")


def external_plan(address: str, environ: dict[str, str]) -> Plan:
    """The plan for the external scheduler at ``address``, with its TLS certificate files from ``environ``.

    Raises
    ------
    ConfigError
        The address is malformed; a ``tls://`` address lacks one of the certificate settings; certificates are
        set for a plain address; or a plain ``tcp://`` address names another machine while
        ``MNIST_LAB_DASK_ALLOW_PLAINTEXT`` is not ``1``.
    """
    from distributed.comm.addressing import get_address_host, parse_address

    try:
        scheme, _ = parse_address(address)
        host = get_address_host(address).strip("[]")
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{SCHEDULER_ENV} must be a Dask scheduler's address such as tls://host:8786, not "
                          f"{address!r}") from error
    files = tuple(environ.get(name, "").strip() for name in TLS_ENVS)
    missing = [name for name, file in zip(TLS_ENVS, files, strict=True) if not file]
    if scheme in TLS_SCHEMES:
        if missing:
            raise ConfigError(f"the scheduler at {address} speaks TLS: name its CA file, this server's certificate "
                              f"and its key in {', '.join(missing)} (see the README, 'A Dask cluster over TLS')")
        return Plan(EXTERNAL, address, 0, f"the Dask scheduler at {address} (set in {SCHEDULER_ENV}, over TLS)",
                    tls=files)
    if len(missing) < len(TLS_ENVS):
        raise ConfigError(f"TLS certificates are set ({', '.join(n for n in TLS_ENVS if n not in missing)}) but "
                          f"{SCHEDULER_ENV} is a plain {scheme}:// address: write it as tls://{address.split('://')[-1]}")
    allowed = environ.get(ALLOW_PLAINTEXT_ENV, "").strip().lower() in ("1", "true", "yes")
    if not (allowed or _is_loopback(host)):
        raise ConfigError(
            f"{SCHEDULER_ENV} is a plain {scheme}:// address of another machine ({host}): whoever can reach that "
            "scheduler could run any code on its workers and read or forge the trainings' messages. Use a tls:// "
            f"address with {', '.join(TLS_ENVS)} (see the README, 'A Dask cluster over TLS'), or set "
            f"{ALLOW_PLAINTEXT_ENV}=1 if the network between them is private and trusted"
        )
    return Plan(EXTERNAL, address, 0, f"the Dask scheduler at {address} (set in {SCHEDULER_ENV})")


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback interface (by address, or the name ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
