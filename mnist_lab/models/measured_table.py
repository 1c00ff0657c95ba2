"""Measured by benchmarks/typical_figures.py: do not edit by hand, run the benchmark again."""

MACHINE = '2 cores of AMD EPYC, no GPU, Python 3.11.7, TensorFlow 2.21.0, Keras 3.15.1'
MEASURED_ON = '2026-12-01'
PRESETS = {'fast': {'test_accuracy': [0.9832, 0.9928], 'train_seconds': [64.7, 124.8]},
 'perceptron': {'test_accuracy': [0.8998, 0.912, 0.9165, 0.9195, 0.921, 0.9227, 0.9236, 0.9246, 0.925, 0.9259],
                'train_seconds': [4.8, 9.3, 14.7, 16.4, 18.5, 26.7, 28.6, 36.7, 42.9, 46.0]},
 'mlp': {'test_accuracy': [0.9593, 0.97, 0.9758, 0.9769, 0.9771, 0.9781, 0.9788, 0.978, 0.9804, 0.9804],
         'train_seconds': [24.9, 133.1, 177.5, 258.5, 357.8, 467.3, 760.0, 768.5, 785.7, 794.3]},
 'custom': {'test_accuracy': [0.9751, 0.9872, 0.9887, 0.9904, 0.9902],
            'train_seconds': [339.4, 494.4, 699.8, 769.5, 924.3]}}
CHOICES = {'sgd@0.05/sparse_categorical_crossentropy': {'test_accuracy': [0.9784], 'train_seconds': [89.3]},
 'sgd@0.001/sparse_categorical_crossentropy': {'test_accuracy': [0.85], 'train_seconds': [154.9]},
 'adam@0.001/sparse_categorical_crossentropy': {'test_accuracy': [0.9804], 'train_seconds': [105.5]},
 'adagrad@0.001/sparse_categorical_crossentropy': {'test_accuracy': [0.9169], 'train_seconds': [26.4]},
 'adagrad@0.05/sparse_categorical_crossentropy': {'test_accuracy': [0.9803], 'train_seconds': [128.1]},
 'nadam@0.001/sparse_categorical_crossentropy': {'test_accuracy': [0.9831], 'train_seconds': [211.0]},
 'sgd@0.05/mse': {'test_accuracy': [0.91], 'train_seconds': [42.6]},
 'adam@0.001/mse': {'test_accuracy': [0.9837], 'train_seconds': [79.6]},
 'sgd@0.05/categorical_hinge': {'test_accuracy': [0.9756], 'train_seconds': [72.1]},
 'adam@0.001/label_smoothing_crossentropy': {'test_accuracy': [0.9872], 'train_seconds': [91.4]}}
