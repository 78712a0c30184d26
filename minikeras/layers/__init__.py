"""Layers, as `keras.layers` names them.

Keras 2.2's `from keras.layers import *` also handed out `np`, `K` and the activations/initializers/
regularizers/constraints modules (its layer modules imported them without an `__all__`); course code
leans on that, so they are re-exported here too.
"""
import numpy as np

from minikeras import activations, constraints, initializers, regularizers
from minikeras import backend as K
from minikeras.layers.bidirectional import Bidirectional
from minikeras.layers.convolutional import Conv1D, Conv2D, Convolution1D, Convolution2D
from minikeras.layers.convolutional_transpose import (Conv1DTranspose, Conv2DTranspose, Convolution1DTranspose,
                                                      Convolution2DTranspose)
from minikeras.layers.core import Activation, Dense, Dropout, Flatten, Masking, Permute, RepeatVector, Reshape
from minikeras.layers.depthwise_separable import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
                                                  SeparableConvolution1D, SeparableConvolution2D)
from minikeras.layers.embeddings import Embedding
from minikeras.layers.input_layer import Input, InputLayer
from minikeras.layers.layer import Layer
from minikeras.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                     average, concatenate, dot, maximum, minimum, multiply, subtract)
from minikeras.layers.normalization import BatchNormalization, LayerNormalization
from minikeras.layers.pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                                     GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D,
                                     GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D,
                                     MaxPooling1D, MaxPooling2D)
from minikeras.layers.recurrent import GRU, LSTM, SimpleRNN
from minikeras.layers.reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from minikeras.layers.serialization import deserialize, serialize
from minikeras.layers.time_distributed import TimeDistributed
