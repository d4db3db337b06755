"""Layers: each `forward(x, train)` returns the output and a backward closure."""

from babysit.nn.layers.activations import ACTIVATIONS, LeakyReLU, ReLU, Sigmoid, Tanh, activation
from babysit.nn.layers.base import Layer, Param, Sequential
from babysit.nn.layers.batchnorm import BatchNorm
from babysit.nn.layers.dropout import Dropout
from babysit.nn.layers.linear import Linear
from babysit.nn.layers.mlp import mlp
from babysit.nn.layers.noise import GaussianNoise

__all__ = [
    "ACTIVATIONS", "BatchNorm", "Dropout", "GaussianNoise", "Layer", "LeakyReLU", "Linear",
    "Param", "ReLU", "Sequential", "Sigmoid", "Tanh", "activation", "mlp",
]
