"""What a trained run says about an image: loading its model, preparing drawn and uploaded digits, test-set
samples, and what happens inside the network."""

from mnist_lab.predictions.samples import (
    ORDERS,
    OutputExplanation,
    OwnDigit,
    Samples,
    ShapeAttempt,
    explain_output,
    read_own_digit,
    select_samples,
    thumbnails,
    wrong_shape_demo,
)

__all__ = [
    "ORDERS", "OutputExplanation", "OwnDigit", "Samples", "ShapeAttempt", "explain_output", "read_own_digit",
    "select_samples", "thumbnails", "wrong_shape_demo",
]
