"""Keras model configs as Keras 2 (``to_json``) and Keras 3 write them, for the import tests.

The Keras 2 text is spelled out; Keras 3 configs are assembled from the pieces every
Keras 3 object has (``module``, ``class_name``, ``config``, ``registered_name``).
"""

# -- Keras 2 / tf.keras: what model.to_json() writes ----------------------------------------
KERAS2_CNN = """{"class_name": "Sequential", "config": {"name": "lenet", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1],
  "dtype": "float32", "sparse": false, "ragged": false, "name": "conv2d_input"}},
 {"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true, "dtype": "float32",
  "filters": 6, "kernel_size": [5, 5], "strides": [1, 1], "padding": "same",
  "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
  "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
  "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
  "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
  "bias_constraint": null}},
 {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "trainable": true,
  "dtype": "float32", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
  "data_format": "channels_last"}},
 {"class_name": "BatchNormalization", "config": {"name": "batch_normalization",
  "trainable": true, "dtype": "float32", "axis": [3], "momentum": 0.99, "epsilon": 0.001,
  "center": true, "scale": true, "beta_initializer": {"class_name": "Zeros", "config": {}},
  "gamma_initializer": {"class_name": "Ones", "config": {}},
  "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
  "moving_variance_initializer": {"class_name": "Ones", "config": {}},
  "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null,
  "gamma_constraint": null}},
 {"class_name": "Conv2D", "config": {"name": "conv2d_1", "trainable": true, "dtype": "float32",
  "filters": 16, "kernel_size": [5, 5], "strides": [1, 1], "padding": "valid",
  "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "linear",
  "use_bias": true, "kernel_initializer": {"class_name": "VarianceScaling", "config":
  {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": null}},
  "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer":
  {"class_name": "L2", "config": {"l2": 0.0010000000474974513}}, "bias_regularizer": null,
  "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
 {"class_name": "LeakyReLU", "config": {"name": "leaky_re_lu", "trainable": true,
  "dtype": "float32", "alpha": 0.10000000149011612}},
 {"class_name": "Flatten", "config": {"name": "flatten", "trainable": true, "dtype": "float32",
  "data_format": "channels_last"}},
 {"class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "dtype": "float32",
  "rate": 0.5, "noise_shape": null, "seed": null}},
 {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32",
  "units": 10, "activation": "softmax", "use_bias": true, "kernel_initializer":
  {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer":
  {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null, "bias_regularizer": null,
  "activity_regularizer": null, "kernel_constraint": {"class_name": "MaxNorm", "config":
  {"max_value": 3, "axis": 0}}, "bias_constraint": null}}]},
 "keras_version": "2.13.1", "backend": "tensorflow"}"""


# -- Keras 3: every object carries module / registered_name; dtype policies ----------------
def k3(module, class_name, config, registered_name=None):
    return {
        "module": module,
        "class_name": class_name,
        "config": config,
        "registered_name": registered_name,
    }


POLICY = k3("keras", "DTypePolicy", {"name": "float32"})


def k3_init(name, **config):
    return k3("keras.initializers", name, config)


def k3_layer(class_name, name, inbound=None, shape=None, **config):
    entry = k3("keras.layers", class_name, {"name": name, "trainable": True, "dtype": POLICY})
    entry["config"].update(config)
    if shape is not None:
        entry["build_config"] = {"input_shape": shape}
    if inbound is not None:
        entry["name"] = name
        entry["inbound_nodes"] = [{"args": [inbound], "kwargs": {}}]
    return entry


def k3_conv(name, filters, size, padding, activation, **extra):
    return dict(
        filters=filters,
        kernel_size=[size, size],
        strides=[1, 1],
        padding=padding,
        data_format="channels_last",
        dilation_rate=[1, 1],
        groups=1,
        activation=activation,
        use_bias=True,
        kernel_initializer=k3_init("GlorotUniform", seed=None),
        bias_initializer=k3_init("Zeros"),
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **extra,
    )


def k3_cnn():
    layers = [
        k3(
            "keras.layers",
            "InputLayer",
            {"batch_shape": [None, 28, 28, 1], "dtype": "float32", "sparse": False, "name": "x"},
        ),
        k3_layer("Conv2D", "conv2d", **k3_conv("conv2d", 6, 5, "same", "relu")),
        k3_layer(
            "MaxPooling2D",
            "max_pooling2d",
            pool_size=[2, 2],
            padding="valid",
            strides=[2, 2],
            data_format="channels_last",
        ),
        k3_layer(
            "BatchNormalization",
            "batch_normalization",
            axis=-1,
            momentum=0.99,
            epsilon=0.001,
            center=True,
            scale=True,
            beta_initializer=k3_init("Zeros"),
            gamma_initializer=k3_init("Ones"),
            moving_mean_initializer=k3_init("Zeros"),
            moving_variance_initializer=k3_init("Ones"),
            beta_regularizer=None,
            gamma_regularizer=None,
            beta_constraint=None,
            gamma_constraint=None,
            synchronized=False,
        ),
        k3_layer("Conv2D", "conv2d_1", **k3_conv("conv2d_1", 16, 5, "valid", "linear")),
        k3_layer("LeakyReLU", "leaky_re_lu", negative_slope=0.1),
        k3_layer("Flatten", "flatten", data_format="channels_last"),
        k3_layer("Dropout", "dropout", rate=0.5, seed=None, noise_shape=None),
        k3_layer(
            "Dense",
            "dense",
            units=10,
            activation="softmax",
            use_bias=True,
            kernel_initializer=k3_init("GlorotUniform", seed=None),
            bias_initializer=k3_init("Zeros"),
            kernel_regularizer=None,
            bias_regularizer=None,
            kernel_constraint=None,
            bias_constraint=None,
            lora_rank=None,
        ),
    ]
    config = {"name": "lenet", "trainable": True, "dtype": POLICY, "layers": layers}
    model = k3("keras", "Sequential", config)
    model.update(build_config={"input_shape": [None, 28, 28, 1]}, compile_config=None)
    return model


# -- functional models with a skip connection ---------------------------------------------
def k2_ref(name):
    return [name, 0, 0, {}]


def k2_layer(class_name, name, inbound, **config):
    config = {"name": name, "trainable": True, "dtype": "float32", **config}
    nodes = [[k2_ref(n) for n in inbound]] if inbound else []
    return {"class_name": class_name, "config": config, "name": name, "inbound_nodes": nodes}


def k2_conv(filters, size):
    return dict(
        filters=filters,
        kernel_size=[size, size],
        strides=[1, 1],
        padding="same",
        data_format="channels_last",
        dilation_rate=[1, 1],
        groups=1,
        activation="relu",
        use_bias=True,
        kernel_initializer={"class_name": "HeNormal", "config": {"seed": None}},
        bias_initializer={"class_name": "Zeros", "config": {}},
    )


def keras2_skip():
    layers = [
        k2_layer("InputLayer", "image", [], batch_input_shape=[None, 8, 8, 3], sparse=False),
        k2_layer("Conv2D", "stem", ["image"], **k2_conv(4, 3)),
        k2_layer("Conv2D", "branch", ["stem"], **k2_conv(4, 3)),
        k2_layer("Add", "add", ["branch", "stem"]),
        k2_layer("GlobalAveragePooling2D", "gap", ["add"], data_format="channels_last"),
        k2_layer("Dense", "logits", ["gap"], units=3, activation="linear"),
    ]
    del layers[0]["config"]["trainable"]
    config = {
        "name": "skip",
        "layers": layers,
        "input_layers": [["image", 0, 0]],
        "output_layers": [["logits", 0, 0]],
    }
    return {"class_name": "Functional", "config": config, "keras_version": "2.15.0"}


def k3_tensor(name, shape):
    history = {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]}
    return {"class_name": "__keras_tensor__", "config": history}


def keras3_skip():
    image = k3_tensor("image", [None, 8, 8, 3])
    stem, branch = k3_tensor("stem", [None, 8, 8, 4]), k3_tensor("branch", [None, 8, 8, 4])
    conv = {k: v for k, v in k3_conv("", 4, 3, "same", "relu").items()}
    conv["kernel_initializer"] = k3_init("HeNormal", seed=None)
    image_config = {"batch_shape": [None, 8, 8, 3], "dtype": "float32", "name": "image"}
    input_layer = k3("keras.layers", "InputLayer", image_config)
    input_layer.update(name="image", inbound_nodes=[])
    layers = [
        input_layer,
        k3_layer("Conv2D", "stem", image, [None, 8, 8, 3], **conv),
        k3_layer("Conv2D", "branch", stem, [None, 8, 8, 4], **conv),
        k3_layer("Add", "add", [branch, stem], [[None, 8, 8, 4], [None, 8, 8, 4]]),
        k3_layer(
            "GlobalAveragePooling2D",
            "gap",
            k3_tensor("add", [None, 8, 8, 4]),
            data_format="channels_last",
            keepdims=False,
        ),
        k3_layer("Dense", "logits", k3_tensor("gap", [None, 4]), units=3, activation="linear"),
    ]
    config = {"name": "skip", "trainable": True, "layers": layers}
    config.update(input_layers=["image", 0, 0], output_layers=["logits", 0, 0])
    model = k3("keras.src.models.functional", "Functional", config, "Functional")
    model["build_config"] = {"input_shape": None}
    return model
