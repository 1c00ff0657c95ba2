"""How good a run is: metrics in scikit-learn's style, the stored evaluation of a run on its test split, and the
comparison of runs."""

from mnist_lab.evaluation.evaluate import (
    COMPARED,
    CONFUSION_MATRIX_EXPLAINED,
    CURVE_POINTS,
    CURVES_EXPLAINED,
    HEADLINE,
    CellExamples,
    Comparison,
    Evaluation,
    cell_examples,
    check_comparable,
    compare,
    evaluate_run,
    gap_explanation,
    hyperparameter_diff,
    run_labels,
    stored_figures,
)

__all__ = [
    "COMPARED",
    "CONFUSION_MATRIX_EXPLAINED",
    "CURVES_EXPLAINED",
    "CURVE_POINTS",
    "HEADLINE",
    "CellExamples",
    "Comparison",
    "Evaluation",
    "cell_examples",
    "check_comparable",
    "compare",
    "evaluate_run",
    "gap_explanation",
    "hyperparameter_diff",
    "run_labels",
    "stored_figures",
]
