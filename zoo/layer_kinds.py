"""The layer kinds a spec's short forms name: their Keras class and the prefix of the layers built from them
(`hidden_1`, `conv_2`), for the builders and the summary alike."""

KERAS_CLASS = {"dense": "Dense", "conv2d": "Conv2D", "maxpool2d": "MaxPooling2D", "flatten": "Flatten", "dropout": "Dropout"}
LAYER_PREFIX = {"dense": "hidden", "conv2d": "conv", "maxpool2d": "pool", "flatten": "flatten", "dropout": "dropout"}
