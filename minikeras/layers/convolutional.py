"""Keras 2's `keras.layers.convolutional`. minikeras has no convolutional layers yet: importing any says so."""
from minikeras.layers.unavailable_layers import missing_layer_getattr

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "SeparableConv1D",
           "SeparableConv2D", "DepthwiseConv2D", "Convolution1D", "Convolution2D", "Convolution3D",
           "Deconvolution2D", "Deconvolution3D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D",
           "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]

__getattr__ = missing_layer_getattr(__name__, __all__, "convolutional")
