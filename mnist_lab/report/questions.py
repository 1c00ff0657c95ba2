"""The assignment's numbered questions, in the order the report answers them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One numbered question of the assignment.

    Attributes
    ----------
    id : str
        Stable lower-case id, also the heading's anchor (``"a1"`` ... ``"b9"``).
    number : str
        The number as printed (``"A1"``).
    title : str
        A few words, for headings and links.
    text : str
        The question in full.
    """

    id: str
    number: str
    title: str
    text: str


QUESTIONS: tuple[Question, ...] = (
    Question("a1", "A1", "Show the digits 0-9", "Show the digits 0-9, to know what goes into the model."),
    Question("a2", "A2", "A CNN, and why these settings", "Use a CNN for handwriting recognition, and give the "
             "reason for the chosen loss function, optimizer and other settings."),
    Question("a3", "A3", "Print some outputs", "Print some outputs to make sure the model is right."),
    Question("a4", "A4", "ROC, recall and the like", "Use ROC, recall and the like to see the model's performance."),
    Question("b1", "B1", "Why scale the pixels", "Why must the image data be scaled (for example divided by 255.0)?"),
    Question("b2", "B2", "Why a training and a test set", "Why must the data be split into training and test sets?"),
    Question("b3", "B3", "How many input values", "With a fully connected (Dense) input layer, how many input values "
             "does each 28x28 grey image give?"),
    Question("b4", "B4", "The final Dense layer of 10", "What is the purpose of a final Dense layer with 10 neurons?"),
    Question("b5", "B5", "Perceptron or Dense layer", "What is the difference between a perceptron and a Dense layer?"),
    Question("b6", "B6", "Why training accuracy is higher", "Why is training accuracy usually higher than test "
             "accuracy?"),
    Question("b7", "B7", "What a confusion matrix tells", "What does a confusion matrix tell about the model?"),
    Question("b8", "B8", "Why np.argmax", "Why is `np.argmax()` used when predicting digits?"),
    Question("b9", "B9", "An image of the wrong shape", "What happens when an image of the wrong shape (28x28x3 "
             "instead of 28x28x1) is fed to the model?"),
)
#: Part letter (a question id's first letter) to the part's heading.
PARTS = {"a": "Part A: the assignment", "b": "Part B: the concept questions"}


def question(question_id: str) -> Question:
    """Return the question with id ``question_id`` (case-insensitive).

    Parameters
    ----------
    question_id : str
        Such as ``"b7"`` or ``"B7"``.

    Returns
    -------
    Question

    Raises
    ------
    ValueError
        If there is no such question; the message lists the ids.
    """
    for candidate in QUESTIONS:
        if candidate.id == str(question_id).lower():
            return candidate
    raise ValueError(f"no question {question_id!r}; the ids are {', '.join(q.id for q in QUESTIONS)}")
