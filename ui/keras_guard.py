"""Keep Streamlit from resetting Keras' global state under a running training."""

from streamlit.runtime.scriptrunner import script_runner


def keep_keras_state_between_reruns() -> None:
    """Turn off Streamlit's ``keras.backend.clear_session()`` after every script run.

    Streamlit calls it after each full or fragment run, from the script thread. Keras' global state
    is shared by all threads, so that call, made every second while the Train page polls, resets the
    seeded random generator of the training thread (runs stop being reproducible) and, when it lands
    while the training thread builds its model, makes layer names collide ("The name 'conv2d' is used
    2 times"). The library releases Keras' state itself when a training ends (``mnist_lab.models.keras_session``).
    """
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError("Streamlit changed how it clears Keras between reruns: review ui/keras_guard.py")
    script_runner._clean_problem_modules = lambda: None
