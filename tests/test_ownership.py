"""Every run has an owner: a student reaches only their own runs, a teacher reads and deletes everyone's, and the
class limits hold in the library and on the command line."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mnist_lab import access, training
from mnist_lab.errors import AccessError, LimitExceededError, RunNotFoundError
from mnist_lab.models import architectures, config
from mnist_lab.runs import store as run_store
from mnist_lab.runs.store import RunStore
from tests.waiting import wait_for

ALICE = access.User("login:alice", "Alice")
BOB = access.User("login:bob", "Bob")
TEACHER = access.User("login:teacher", "Ms Teach", teacher=True)

# Every test about the store runs on both databases (the `database` fixture).
store_tests = pytest.mark.usefixtures("database")


def other_students_run(home):
    """Alice's finished run with a saved model and an array, as Bob's store sees the same home."""
    alice = RunStore(home, user=ALICE)
    run_id = alice.create_run("alice's secret run", {"architecture": "fast"}, {"epochs": 1}, {})
    alice.record_epoch(run_id, 1, {"epoch": 1, "loss": 0.1}, model_saved=True)
    alice.model_path(run_id).write_bytes(b"model")
    alice.save_array(run_id, "scores", np.ones(3))
    alice.finish(run_id, run_store.FINISHED, message="done")
    return run_id


@store_tests
def test_every_store_operation_on_another_students_run_is_refused_as_not_found(home):
    run_id = other_students_run(home)
    bob = RunStore(home).as_user(BOB)
    absent = "20250101-000000-abcdef"
    operations = {
        "get": lambda rid: bob.get(rid),
        "rename": lambda rid: bob.rename(rid, "mine now"),
        "delete": lambda rid: bob.delete(rid),
        "model_path": lambda rid: bob.model_path(rid),
        "run_dir": lambda rid: bob.run_dir(rid),
        "record_epoch": lambda rid: bob.record_epoch(rid, 2, {"epoch": 2}, model_saved=True),
        "finish": lambda rid: bob.finish(rid, run_store.FAILED),
        "update_metrics": lambda rid: bob.update_metrics(rid, test={"accuracy": 1.0}),
        "save_array": lambda rid: bob.save_array(rid, "scores", np.zeros(3)),
        "load_array": lambda rid: bob.load_array(rid, "scores"),
        "cached_array": lambda rid: bob.cached_array(rid, "scores", lambda: np.zeros(3)),
        "drop_arrays": lambda rid: bob.drop_arrays(rid),
    }
    for name, operation in operations.items():
        with pytest.raises(RunNotFoundError) as refused:
            operation(run_id)
        with pytest.raises(RunNotFoundError) as missing:
            operation(absent)
        # The same error as for a run that does not exist: nothing about Alice's run leaks.
        assert str(refused.value).replace(run_id, absent) == str(missing.value), name
    assert bob.list_runs() == []
    with pytest.raises(AccessError, match="only a teacher"):
        bob.list_runs(everyone=True)
    kept = RunStore(home, user=ALICE).get(run_id)
    assert (kept.name, kept.status, kept.saved_epochs, kept.metrics) == ("alice's secret run", "finished", 1, {})
    assert RunStore(home, user=ALICE).load_array(run_id, "scores").tolist() == [1.0, 1.0, 1.0]
    assert RunStore(home, user=ALICE).model_path(run_id).read_bytes() == b"model"


@store_tests
def test_each_student_lists_and_changes_only_their_own_runs(home):
    alice, bob = RunStore(home, user=ALICE), RunStore(home).as_user(BOB)
    mine = alice.create_run("alice 1", {}, {}, {})
    theirs = bob.create_run("bob 1", {}, {}, {})
    assert [run.id for run in alice.list_runs()] == [mine] and [run.id for run in bob.list_runs()] == [theirs]
    assert (alice.get(mine).owner, alice.get(mine).owner_name) == (ALICE.id, "Alice")
    assert RunStore(home).list_runs() == []  # the personal user of this home is a third person
    bob.finish(theirs, run_store.STOPPED)
    bob.rename(theirs, "renamed by bob")
    bob.delete(theirs)
    assert alice.get(mine).name == "alice 1"


@store_tests
def test_a_teacher_reads_and_deletes_every_run_but_renames_and_finishes_only_their_own(home):
    run_id = other_students_run(home)
    teacher = RunStore(home, user=TEACHER)
    assert [run.id for run in teacher.list_runs(everyone=True)] == [run_id]
    assert teacher.list_runs() == []  # the teacher's own runs
    run = teacher.get(run_id)
    assert (run.name, run.owner_name) == ("alice's secret run", "Alice")
    assert teacher.model_path(run_id).read_bytes() == b"model"
    for change in (lambda: teacher.rename(run_id, "teacher's"), lambda: teacher.finish(run_id, run_store.FAILED),
                   lambda: teacher.record_epoch(run_id, 2, {"epoch": 2}, model_saved=False)):
        with pytest.raises(RunNotFoundError):
            change()
    teacher.delete(run_id)
    with pytest.raises(RunNotFoundError):
        RunStore(home, user=ALICE).get(run_id)
    assert not (home / "runs" / run_id).exists()


@store_tests
def test_only_a_teacher_sets_the_class_limits_and_they_are_kept(home):
    limits = access.ClassLimits(max_epochs=3, max_parameters=100_000, trainings_per_hour=5)
    with pytest.raises(AccessError, match="only a teacher"):
        RunStore(home, user=ALICE).set_class_limits(limits)
    assert RunStore(home).class_limits() == access.ClassLimits()
    RunStore(home, user=TEACHER).set_class_limits(limits)
    assert RunStore(home, user=BOB).class_limits() == limits
    with pytest.raises(config.ConfigError, match="max_epochs must be between 1 and"):
        access.ClassLimits(max_epochs=0)


def small(epochs=1, architecture="perceptron"):
    return (config.ModelConfig(architecture=architecture),
            config.TrainConfig(epochs=epochs, train_limit=500, batch_size=50))


@store_tests
@pytest.mark.slow  # counts the weights of Keras-built networks: 4-5 s per store
def test_the_library_refuses_trainings_beyond_the_class_limits_before_anything_is_created(home):
    RunStore(home, user=TEACHER).set_class_limits(
        access.ClassLimits(max_epochs=2, max_parameters=10_000, trainings_per_hour=2))
    trainer = training.Trainer(RunStore(home))
    with pytest.raises(LimitExceededError, match="at most 2 epochs per training; this one asks for 3"):
        trainer.start("too long", *small(epochs=3), user=ALICE)
    big = small(architecture="keras-classic")
    weights = architectures.count_params(architectures.build_model(big[0]))
    assert weights > 10_000
    with pytest.raises(LimitExceededError, match=f"at most 10,000 weights; this one has {weights:,}"):
        trainer.start("too big", *big, user=ALICE)
    with pytest.raises(LimitExceededError, match="at most 2 epochs"):  # no way around it: the job itself checks
        training.new_job(RunStore(home, user=ALICE), "direct", *small(epochs=3))
    assert RunStore(home, user=ALICE).list_runs() == []
    first = training.new_job(RunStore(home, user=ALICE), "one", *small())
    second = training.new_job(RunStore(home, user=ALICE), "two", *small())
    with pytest.raises(LimitExceededError, match="2 trainings per student per hour; you started 2 in the last hour"):
        training.new_job(RunStore(home, user=ALICE), "three", *small())
    training.new_job(RunStore(home, user=BOB), "bob's first", *small())  # limits count per student
    training.new_job(RunStore(home, user=TEACHER), "teacher", *small(epochs=5))  # teachers are not limited
    for job in (first, second):
        job.run()
    assert {run.status for run in RunStore(home, user=ALICE).list_runs()} == {run_store.FINISHED}
    for run in RunStore(home, user=ALICE).list_runs():  # deleting her runs frees no training
        RunStore(home, user=ALICE).delete(run.id)
    with pytest.raises(LimitExceededError, match="you started 2 in the last hour"):
        training.new_job(RunStore(home, user=ALICE), "after deleting", *small())


@pytest.mark.cluster
@store_tests
def test_the_command_line_obeys_the_class_limits(home):
    RunStore(home, user=TEACHER).set_class_limits(access.ClassLimits(max_epochs=1))
    command = [sys.executable, "-m", "mnist_lab", "train", "--preset", "perceptron", "--epochs", "2", "--limit", "500"]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "MNIST_LAB_HOME": str(home)},
                          timeout=600)
    assert done.returncode != 0
    assert "at most 1 epoch per training; this one asks for 2" in done.stderr
    assert "Traceback" not in done.stderr
    assert RunStore(home).list_runs() == []


@pytest.mark.cluster
@store_tests
def test_a_student_cannot_stop_another_students_training(home):
    store = RunStore(home)
    trainer = training.Trainer(store)
    job = trainer.start("alice's", *small(epochs=200), user=ALICE)
    try:
        # training, so a stop keeps the run
        wait_for(lambda: not job.waiting, timeout=300,
                 what="the training to leave the queue")
        with pytest.raises(RunNotFoundError):
            trainer.stop(job.run_id, BOB)
        with pytest.raises(RunNotFoundError):
            trainer.stop(job.run_id, TEACHER)  # a teacher deletes runs, but never stops a student's training
        assert not job.stop_event.is_set()
        assert trainer.jobs_of(BOB) == [] and trainer.jobs_of(ALICE) == [job]
        trainer.stop(job.run_id, ALICE)
        assert job.join(timeout=300)
        assert RunStore(home, user=ALICE).get(job.run_id).status == run_store.STOPPED
    finally:
        job.stop()
        job.join(timeout=300)


@pytest.mark.cluster
@store_tests
def test_comparison_runs_belong_to_the_student_who_started_them(home):
    from mnist_lab.training import experiments

    trainer = training.Trainer(RunStore(home))
    runner = experiments.ExperimentRunner(trainer, config.TrainConfig(epochs=1, train_limit=300, batch_size=50),
                                          user=BOB)
    runner.start("b5-perceptron-vs-cnn")
    assert runner.join(timeout=600)
    runs = RunStore(home, user=BOB).list_runs()
    assert len(runs) == 2 and all(run.owner == BOB.id for run in runs)
    assert RunStore(home, user=ALICE).list_runs() == [] and RunStore(home).list_runs() == []


SHARED_DEFAULTS = access.limits.SHARED_DEFAULTS  # a shared lab without login has no teacher to set limits


@pytest.mark.parametrize(
    ("secrets", "environ", "expected"),
    [
        ({}, {}, access.AccessSettings()),
        ({}, {"MNIST_LAB_MODE": "shared"}, access.AccessSettings(access.SHARED, limits=SHARED_DEFAULTS)),
        ({"mnist_lab": {"mode": "shared"}}, {}, access.AccessSettings(access.SHARED, limits=SHARED_DEFAULTS)),
        ({"auth": {"client_id": "x"}, "mnist_lab": {"teachers": ["T@School.org"]}}, {"MNIST_LAB_MODE": "shared"},
         access.AccessSettings(access.LOGIN, ("T@School.org",))),
    ],
)
def test_the_mode_comes_from_the_secrets_and_the_environment(secrets, environ, expected):
    assert access.AccessSettings.read(secrets, environ) == expected


@pytest.mark.parametrize(
    ("secrets", "environ", "message"),
    [
        ({}, {"MNIST_LAB_MODE": "public"}, "mode must be one of personal, shared, login"),
        ({}, {"MNIST_LAB_MODE": "login"}, r"login mode needs an \[auth\] section"),
        ({"mnist_lab": {"teachers": "t@school.org"}}, {}, "must be a list of e-mail addresses"),
        ({"mnist_lab": "shared"}, {}, "must be a section"),
    ],
)
def test_unusable_access_settings_say_how_to_write_them(secrets, environ, message):
    with pytest.raises(AccessError, match=message):
        access.AccessSettings.read(secrets, environ)


def test_a_login_is_one_student_on_every_device_and_teachers_are_named_by_verified_email_or_subject():
    claims = {"sub": "12345", "iss": "https://id.school.org", "email": "ann@school.org", "name": "Ann",
              "email_verified": True}
    ann = access.login_user(claims, teachers=["ann@school.org"])
    assert ann == access.login_user(dict(claims), teachers=["ann@school.org"])
    assert ann.teacher and ann.name == "Ann" and "12345" in ann.id
    assert not access.login_user({**claims, "email": "ben@school.org", "sub": "6"}, teachers=["ann@school.org"]).teacher
    # An address the provider did not verify, or one that only matches after changing its case, grants nothing.
    assert not access.login_user({**claims, "email_verified": False}, teachers=["ann@school.org"]).teacher
    assert not access.login_user({key: value for key, value in claims.items() if key != "email_verified"},
                                 teachers=["ann@school.org"]).teacher
    assert not access.login_user({**claims, "email": "ANN@school.org"}, teachers=["ann@school.org"]).teacher
    assert access.login_user({**claims, "email_verified": False}, teachers=["12345"]).teacher  # by subject
    with pytest.raises(AccessError, match="named no user"):
        access.login_user({"name": "nobody"})


def test_a_browser_is_known_by_a_hash_of_its_secret_never_the_secret_itself():
    secret = "s" * 43
    user = access.browser_user(secret)
    assert user == access.browser_user(secret) and user != access.browser_user("t" * 43)
    assert secret not in user.id and secret not in user.name and not user.teacher
    with pytest.raises(AccessError):
        access.browser_user("short")
