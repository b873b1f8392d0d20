"""The ``Optimizer`` base: everything an optimizer does except its update rule.

The base owns the step counter, the learning rate (a float or a schedule), slot
variables, gradient clipping, decoupled weight decay, constraints, state save/restore and
hyperparameter validation. A subclass writes two methods: ``build(var_list)``, creating
its slots with ``add_variable_from_reference``, and ``update_step(grad, var, lr)``,
updating ``var.data`` in place with array operations (no graph is built).

One ``apply_gradients`` call, in order:
  1. drop pairs whose gradient is None; create slots for variables seen for the first time;
  2. clip: by value, by norm (per gradient) or by global norm (all gradients together);
  3. decoupled weight decay ``var -= lr * weight_decay * var`` (before the update);
  4. ``update_step`` for each variable; then ``var.constraint`` where one is set;
  5. ``iterations += 1``.
"""

import math
import numbers

from lapenna import backend as B
from lapenna.autograd import GradientTape, Tensor, Variable, capture, no_grad
from lapenna.backend import xp
from lapenna.optimizers import schedules
from lapenna.utils import to_snake_case


def check_number(owner, name, value, low=None, high=None, low_open=False, high_open=False):
    """Validate a hyperparameter; the error quotes the bad value. Returns a float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high}")
        bound = " and ".join(parts) or "a real number"
        raise ValueError(f"{owner}: {name} must be {bound}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: a float >= 0 or a ``LearningRateSchedule`` evaluated at
            ``iterations``.
        weight_decay: decoupled weight decay (Loshchilov and Hutter, "Decoupled Weight
            Decay Regularization", ICLR 2019): each step first shrinks every variable by
            ``lr * weight_decay``. None or 0 disables it.
        clipnorm: rescale each gradient whose L2 norm exceeds this value.
        clipvalue: clip each gradient entry to ``[-clipvalue, clipvalue]``.
        global_clipnorm: rescale all gradients together when their joint L2 norm exceeds
            this value. At most one of the three clipping arguments may be set.
        name: used in slot names (``"adam/m/dense/kernel"``); defaults to the class's.

    Raises:
        ValueError: for a hyperparameter out of range, quoting the value.
    """

    default_name = None

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **legacy,
    ):
        owner = type(self).__name__
        if legacy:
            raise TypeError(_legacy_hint(owner, legacy))
        self.name = name or self.default_name or to_snake_case(owner)
        self.learning_rate = learning_rate
        self.weight_decay = None
        if weight_decay is not None:
            self.weight_decay = check_number(owner, "weight_decay", weight_decay, low=0)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = {k: v for k, v in clips.items() if v is not None}
        if len(given) > 1:
            raise ValueError(
                f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be set, "
                f"got {', '.join(f'{k}={v!r}' for k, v in given.items())}"
            )
        for key, value in given.items():
            check_number(owner, key, value, low=0, low_open=True)
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self._iterations = 0
        self._vars = {}  # id(var) -> var, for every variable with slots
        self._slots = {}  # id(var) -> {slot name: Variable}
        self._slot_names = set()
        self._excluded = set()
        self._excluded_names = ()
        self.built = False

    # -- the step counter and the learning rate --------------------------------------------
    @property
    def iterations(self):
        """How many times ``apply_gradients`` has updated variables."""
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(
                f"{type(self).__name__}: iterations must be an int >= 0, got {value!r}"
            )
        self._iterations = int(value)

    @property
    def learning_rate(self):
        """The current learning rate as a float (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(lr(self._iterations))
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule):
            self._learning_rate = value
        else:
            value = value.item() if isinstance(value, Tensor | xp.ndarray) else value
            self._learning_rate = check_number(type(self).__name__, "learning_rate", value, low=0)

    # -- slots --------------------------------------------------------------------------
    def build(self, var_list):
        """Register the variables of ``var_list`` not seen before and return them.

        Subclasses call this first and create slots for the variables it returns, so a
        variable met later (a layer unfrozen for fine-tuning) gets its slots then.
        """
        fresh = []
        for var in var_list:
            if id(var) not in self._vars:
                self._vars[id(var)] = var
                self._slots[id(var)] = {}
                fresh.append(var)
        self.built = True
        return fresh

    def add_variable_from_reference(self, var, slot, initial=0.0):
        """Create the slot ``slot`` for ``var``: same shape and dtype, filled with
        ``initial``, named ``"<optimizer>/<slot>/<var path>"``."""
        path = getattr(var, "path", None) or var.name or "variable"
        name = f"{self.name}/{slot}/{path}"
        base, k = name, 1
        while name in self._slot_names:
            name, k = f"{base}_{k}", k + 1
        self._slot_names.add(name)
        value = xp.full(var.shape, initial, dtype=var.dtype)
        variable = Variable(value, trainable=False, name=name, dtype=var.dtype)
        self._slots[id(var)][slot] = variable
        return variable

    def slot(self, var, name):
        """The slot ``name`` of ``var`` (e.g. ``optimizer.slot(w, "m")``)."""
        return self._slots[id(var)][name]

    @property
    def variables(self):
        """Every slot Variable, in the order they were created."""
        return [v for slots in self._slots.values() for v in slots.values()]

    def slots_per_variable(self):
        """How many slot arrays each variable gets (0 for plain SGD, 2 for Adam), for
        memory estimates; found by building a copy of this optimizer on a probe."""
        probe = type(self).from_config(self.get_config())
        probe.build([Variable(xp.zeros((), dtype=B.floatx()), name="probe")])
        return len(probe.variables)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for these variables, or those whose name contains any of
        ``var_names`` (e.g. ``["bias", "gamma", "beta"]``)."""
        self._excluded |= {id(v) for v in var_list or ()}
        self._excluded_names = tuple(var_names or ())

    # -- applying gradients -------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Update each variable from its gradient (see the module docstring for the steps).

        Args:
            grads_and_vars: pairs ``(gradient, variable)``; a gradient may be a Tensor, an
                array or None (that variable is skipped).

        Returns:
            The new value of ``iterations``.

        Raises:
            ValueError: when every gradient is None, or a gradient's shape differs from
                its variable's.
        """
        pairs = [(g, v) for g, v in grads_and_vars]
        pairs = [(self._gradient(g, v), v) for g, v in pairs if g is not None]
        if not pairs:
            raise ValueError(f"{type(self).__name__}: no gradients provided for any variable")
        variables = [v for _, v in pairs]
        # one step of a captured plan: replayed with the new gradients each time
        return capture.host(
            f"{type(self).__name__}.apply_gradients",
            lambda *grads: self._apply_arrays(list(zip(grads, variables))),
            [g for g, _ in pairs],
        )

    def _apply_arrays(self, pairs):
        self.build([v for _, v in pairs])
        grads = self._clip([g for g, _ in pairs])
        lr = self.learning_rate
        with no_grad():
            for grad, var in zip(grads, (v for _, v in pairs)):
                if self.weight_decay and self._decays(var):
                    var.data -= var.data * (lr * self.weight_decay)
                self.update_step(grad, var, lr)
                if getattr(var, "constraint", None) is not None:
                    var.assign(var.constraint(var))
        self._iterations += 1
        return self._iterations

    def update_step(self, grad, var, lr):
        """Update ``var.data`` in place from the array ``grad`` (subclasses define it)."""
        raise NotImplementedError(f"{type(self).__name__} must define update_step")

    def _gradient(self, grad, var):
        if not isinstance(var, Tensor):
            raise ValueError(
                f"{type(self).__name__}: expected (gradient, Variable) pairs, got a "
                f"{type(var).__name__} where a Variable was expected"
            )
        array = grad.data if isinstance(grad, Tensor) else B.as_array(grad)
        if array.shape != var.shape:
            raise ValueError(
                f"{type(self).__name__}: the gradient of '{var.name}' has shape {array.shape}, "
                f"but the variable has shape {var.shape}"
            )
        return array.astype(var.dtype, copy=False)

    def _clip(self, grads):
        if self.clipvalue is not None:
            return [xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            return [g * _shrink(_norm(g), self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(_norm(g) ** 2 for g in grads))
            scale = _shrink(total, self.global_clipnorm)
            return [g * scale for g in grads]
        return grads

    def _decays(self, var):
        if id(var) in self._excluded:
            return False
        name = getattr(var, "path", None) or var.name or ""
        return not any(part in name for part in self._excluded_names)

    def minimize(self, loss_fn, var_list):
        """Compute ``loss_fn()`` on a GradientTape and apply its gradients.

        Args:
            loss_fn: a callable returning a scalar Tensor.
            var_list: the Variables to update (or a callable returning them).

        Returns:
            The loss Tensor.
        """
        var_list = list(var_list() if callable(var_list) else var_list)
        with GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, var_list)
        self.apply_gradients(zip(grads, var_list))
        return loss

    # -- state and config ---------------------------------------------------------------
    def get_state(self):
        """A dict of copies: ``"iterations"`` and every slot by name."""
        state = {"iterations": xp.asarray(self._iterations, dtype=xp.int64)}
        state.update({v.name: v.data.copy() for v in self.variables})
        return state

    def set_state(self, state):
        """Restore ``get_state``'s output. Names and shapes are all checked before anything
        is assigned, so a failed restore changes nothing.

        Raises:
            ValueError: for missing or unexpected names, or a shape mismatch.
        """
        owner = type(self).__name__
        slots = {v.name: v for v in self.variables}
        expected, given = {"iterations", *slots}, set(state)
        if expected != given:
            missing, extra = sorted(expected - given), sorted(given - expected)
            hint = " (build the optimizer on the model's variables first)" if extra else ""
            raise ValueError(
                f"{owner} '{self.name}': the state does not match this optimizer: missing "
                f"{missing}, unexpected {extra}{hint}"
            )
        values = {k: B.as_array(v.data if isinstance(v, Tensor) else v) for k, v in state.items()}
        for key, var in slots.items():
            if values[key].shape != var.shape:
                raise ValueError(
                    f"{owner} '{self.name}': state '{key}' has shape {values[key].shape}, "
                    f"expected {var.shape}"
                )
        steps = values["iterations"]
        if steps.shape != () or steps.dtype.kind not in "iu" or steps < 0:
            raise ValueError(f"{owner}: state 'iterations' must be an int >= 0, got {steps!r}")
        for key, var in slots.items():
            var.assign(values[key].astype(var.dtype, copy=False))
        self._iterations = int(steps)

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} iterations={self._iterations}>"


def _norm(g):
    return float(xp.sqrt((g * g).sum()))


def _shrink(norm, limit):
    """The factor that brings a norm down to ``limit`` (1 when it is already below)."""
    return limit / max(norm, limit)


def _legacy_hint(owner, legacy):
    """What tf.keras 2 arguments are called now (Keras 3 refuses them too)."""
    hints = []
    if "lr" in legacy:
        hints.append(f"use learning_rate={legacy['lr']!r} instead of lr")
    if "decay" in legacy:
        hints.append(
            "decay is a LearningRateSchedule now: learning_rate=lapenna.optimizers.schedules."
            f"InverseTimeDecay(<lr>, decay_steps=1, decay_rate={legacy['decay']!r})"
        )
    others = sorted(set(legacy) - {"lr", "decay"})
    if others:
        hints.append(f"unknown arguments {others}")
    return f"{owner}: " + "; ".join(hints)
