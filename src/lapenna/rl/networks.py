"""The networks of the agents are ordinary lapenna models: builders, copies and their state."""

import lapenna.layers as L
from lapenna import optimizers
from lapenna.autograd import no_grad, tensor
from lapenna.backend import floatx, xp
from lapenna.models import Model, Sequential
from lapenna.rl.base import check_arrays


def mlp(input_shape, outputs, hidden=(64, 64), activation="relu", name=None, dropout=0.0):
    """``Input -> Dense(h, activation) for h in hidden -> Dense(outputs)``, a plain Sequential
    (with ``dropout``, each hidden layer is ``Dense(h) -> Dropout -> activation``, as in
    PyTorch's REINFORCE example)."""
    model = Sequential([L.Input(tuple(input_shape))], name=name)
    for units in hidden:
        if dropout:
            model.add(L.Dense(units))
            model.add(L.Dropout(dropout))
            model.add(L.Activation(activation))
        else:
            model.add(L.Dense(units, activation=activation))
    model.add(L.Dense(outputs))
    return model


def resolve(network, owner, input_shape, outputs, hidden, name):
    """The agent's network: a given model (checked to map ``input_shape`` to ``outputs``
    values) or a new :func:`mlp`."""
    if network is None:
        return mlp(input_shape, outputs, hidden, name=name)
    if not isinstance(network, Model):
        raise TypeError(f"{owner}: network must be a lapenna Model, got {type(network).__name__}")
    probe = xp.zeros((2, *input_shape), dtype=floatx())
    try:
        with no_grad():
            shape = tuple(network(tensor(probe), training=False).shape)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{owner}: the network does not fit the observation space of shape "
            f"{tuple(input_shape)}: {err}"
        ) from err
    if shape != (2, outputs):
        raise ValueError(
            f"{owner}: the network maps observations of shape {tuple(input_shape)} to "
            f"{shape[1:]}, expected ({outputs},) (one value per action)"
        )
    return network


def copy_model(model):
    """A second model of the same architecture (from its config) holding the same weights."""
    twin = type(model).from_config(model.get_config())
    copy_weights(model, twin)
    return twin


def copy_weights(source, target, tau=1.0):
    """``target <- tau * source + (1 - tau) * target`` in place (tau 1: a hard copy)."""
    for s, t in zip(source.weights, target.weights, strict=True):
        if tau == 1.0:
            t.data[...] = s.data
        else:
            t.data *= t.data.dtype.type(1.0 - tau)
            t.data += t.data.dtype.type(tau) * s.data


def model_state(model):
    return {str(i): w.data for i, w in enumerate(model.weights)}


def optimizer_state(optimizer):
    """The optimizer's step counter and slots by position: slot names carry layer names,
    which differ between two models of the same architecture built in one process."""
    state = optimizer.get_state()
    slots = [value for name, value in state.items() if name != "iterations"]
    return {"iterations": state["iterations"], **{str(i): v for i, v in enumerate(slots)}}


def check_model_state(owner, model, state):
    check_arrays(owner, model_state(model), state)


def set_model_state(model, state):
    for i, w in enumerate(model.weights):
        w.data[...] = state[str(i)]


def set_optimizer_state(optimizer, state):
    names = [name for name in optimizer.get_state() if name != "iterations"]
    slots = {name: state[str(i)] for i, name in enumerate(names)}
    optimizer.set_state({"iterations": state["iterations"], **slots})


def get_optimizer(optimizer, learning_rate, max_grad_norm, owner):
    """An optimizer from a name (with the learning rate and global clipping), or as given."""
    if isinstance(optimizer, str):
        kwargs = {"learning_rate": learning_rate}
        if optimizer.lower() == "rmsprop":  # the A2C paper's (and Stable-Baselines3's) settings
            kwargs.update(rho=0.99, epsilon=1e-5)
        if max_grad_norm is not None:
            kwargs["global_clipnorm"] = max_grad_norm
        return optimizers.get({"class_name": optimizer, "config": kwargs})
    if isinstance(optimizer, optimizers.Optimizer):
        return optimizer
    raise TypeError(f"{owner}: optimizer must be a name or an Optimizer, got {optimizer!r}")
