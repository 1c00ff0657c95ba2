"""Who may command the training engine, and what its log says in normal use.

The embedded cluster (worker processes on this machine) speaks TLS with a CA and certificate made at its start:
the app's client connects, a client without them, or with another CA's, is refused. A plain ``tcp://`` scheduler
on another machine is refused unless the operator says the network is trusted. A small training through the
embedded engine logs nothing at ERROR, in this process or in the cluster's.
"""

import logging

import pytest

from mnist_lab.errors import ConfigError, EngineUnavailableError
from mnist_lab.runs import store as run_store
from mnist_lab.training.server import cluster_plan, engine

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """The shared engine of this process with one worker process (``MNIST_LAB_WORKERS=1``), connected."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(cluster_plan.SCHEDULER_ENV, raising=False)
        patch.setenv(cluster_plan.WORKERS_ENV, "1")
        patch.setenv("DASK_TEMPORARY_DIRECTORY", str(tmp_path_factory.mktemp("dask-scratch")))
        started = engine.shared()
        assert started.plan.kind == cluster_plan.PROCESSES
        try:
            started.client()
            yield started
        finally:
            started.close()


def test_the_embedded_cluster_accepts_its_own_client_and_refuses_others(embedded):
    from distributed import Client
    from distributed.security import Security

    client = embedded.client()
    address = client.scheduler.address
    assert address.startswith("tls://127.0.0.1:")
    assert all(worker.startswith("tls://") for worker in client.nthreads())
    with Client(address, security=embedded.security, timeout=20, set_as_default=False) as same:
        assert same.run(lambda: 1) and list(same.run(lambda: 1).values()) == [1]
    for security in (None, Security.temporary()):  # no certificate; a certificate of another CA
        with pytest.raises((OSError, TimeoutError, TypeError, ValueError)):
            Client(address, security=security, timeout=5, set_as_default=False)
    plain = "tcp://" + address.split("://")[1]  # the same port without TLS
    with pytest.raises((OSError, TimeoutError)):
        Client(plain, timeout=5, set_as_default=False)


def test_the_clusters_plain_http_servers_answer_the_health_check_only(embedded):
    import urllib.error
    import urllib.request

    info = embedded.client().scheduler_info()
    ports = [info["services"]["dashboard"], *(worker["services"]["dashboard"] for worker in info["workers"].values())]
    assert len(ports) == 2
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
            assert answer.read() == b"ok"
        for route in ("info/main/workers.html", "json/identity.json", "metrics"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/{route}", timeout=10)
            assert refused.value.code == 404


def test_a_small_training_through_the_embedded_engine_logs_nothing_at_error(embedded, home, monkeypatch, caplog):
    from mnist_lab import training
    from mnist_lab.models import config

    monkeypatch.delenv(cluster_plan.SCHEDULER_ENV, raising=False)
    monkeypatch.setenv(cluster_plan.WORKERS_ENV, "1")
    caplog.set_level(logging.WARNING)
    log = embedded.cluster_log
    before = log.stat().st_size
    trainer = training.Trainer(run_store.RunStore())
    assert trainer.engine is embedded
    job = trainer.start("quiet", config.ModelConfig(architecture="perceptron"),
                        config.TrainConfig(epochs=3, train_limit=600, batch_size=50))
    assert job.join(timeout=300)
    run = run_store.RunStore().get(job.run_id)
    assert run.status == run_store.FINISHED, run.message
    assert run.metrics["worker"]["worker"].startswith("tls://127.0.0.1:")
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
    with log.open() as text:
        text.seek(before)
        written = text.read()
    assert " - ERROR - " not in written and "Traceback" not in written, written[-3000:]


def test_a_forged_message_in_a_runs_queue_is_refused_before_use(embedded, caplog):
    """What reaches the follow loop has the shape of a worker's message; an empty queue waits without errors.
    A forged message stops the training and is logged once."""
    import time

    from distributed import Event, Queue

    from mnist_lab.training import protocol
    from mnist_lab.training.server.messages import WorkerMessageError

    client = embedded.client()
    names = {name: f"mnist-lab-forged-{name}" for name in ("messages", "stop", "started")}
    remote = engine.RemoteTraining(client, client.submit(dict, retried=True, pure=False), names)
    sender = Queue(names["messages"], client=client)
    try:
        started = time.monotonic()
        assert remote.messages(0.5) == []
        assert 0.5 <= time.monotonic() - started < 3.0
        sender.put([protocol.EPOCH_BEGIN, 1])
        assert remote.messages(5.0) == [(protocol.EPOCH_BEGIN, 1)]
        sender.put(["epoch", [{"epoch": 1, "train_seconds": 1.0, "partial": False}, b"not a keras file"]])
        with caplog.at_level(logging.ERROR, logger=engine.__name__), \
                pytest.raises(WorkerMessageError, match=r"not a \.keras file"):
            remote.messages(5.0)
        assert Event(names["stop"], client=client).is_set()
        (logged,) = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert "Refused a message" in logged.getMessage() and "TLS" in logged.getMessage()
        assert remote.ending() == {"retried": True}
    finally:
        remote.release()


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tcp://scheduler.example.org:8786",
                                     "ws://10.0.0.5:8786"])
def test_a_plain_address_of_another_machine_is_refused_with_the_reason(address):
    with pytest.raises(ConfigError) as refused:
        cluster_plan.plan({cluster_plan.SCHEDULER_ENV: address})
    message = str(refused.value)
    assert "could run any code" in message and "tls://" in message and cluster_plan.ALLOW_PLAINTEXT_ENV in message
    allowed = cluster_plan.plan({cluster_plan.SCHEDULER_ENV: address, cluster_plan.ALLOW_PLAINTEXT_ENV: "1"})
    assert allowed.kind == cluster_plan.EXTERNAL and allowed.tls == ()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://localhost:8786", "tcp://[::1]:8786"])
def test_a_plain_address_on_this_machines_loopback_is_accepted(address):
    assert cluster_plan.plan({cluster_plan.SCHEDULER_ENV: address}).address == address


def test_a_tls_address_takes_its_certificate_files_from_the_settings(tmp_path):
    address = "tls://10.0.0.5:8786"
    with pytest.raises(ConfigError) as refused:
        cluster_plan.plan({cluster_plan.SCHEDULER_ENV: address, cluster_plan.TLS_CA_ENV: "ca.pem"})
    assert cluster_plan.TLS_CERT_ENV in str(refused.value) and cluster_plan.TLS_KEY_ENV in str(refused.value)
    files = {name: str(tmp_path / f"{name.lower()}.pem") for name in cluster_plan.TLS_ENVS}
    chosen = cluster_plan.plan({cluster_plan.SCHEDULER_ENV: address, **files})
    assert chosen.kind == cluster_plan.EXTERNAL and chosen.tls == tuple(files.values())
    with pytest.raises(ConfigError, match=r"write it as tls://10\.0\.0\.5:8786"):
        cluster_plan.plan({cluster_plan.SCHEDULER_ENV: "tcp://10.0.0.5:8786", **files})
    with pytest.raises(EngineUnavailableError) as unreadable:  # the files do not exist
        engine.Engine(chosen).client()
    assert cluster_plan.TLS_CA_ENV in str(unreadable.value) and str(tmp_path) not in str(unreadable.value)
