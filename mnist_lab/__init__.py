"""MNIST Lab: the library behind the app. Importing it loads neither Streamlit nor TensorFlow."""

__version__ = "0.2.0"
