"""Layers: each `forward(x, train)` returns the output and a backward closure."""

from babysit.layers.activations import ACTIVATIONS, LeakyReLU, ReLU, Sigmoid, Tanh, activation
from babysit.layers.base import Layer, Param, Sequential
from babysit.layers.batchnorm import BatchNorm
from babysit.layers.dropout import Dropout
from babysit.layers.linear import Linear
from babysit.layers.mlp import mlp
from babysit.layers.noise import GaussianNoise

__all__ = [
    "ACTIVATIONS", "BatchNorm", "Dropout", "GaussianNoise", "Layer", "LeakyReLU", "Linear",
    "Param", "ReLU", "Sequential", "Sigmoid", "Tanh", "activation", "mlp",
]
