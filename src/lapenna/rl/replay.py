"""``ReplayBuffer``: a ring of past transitions, sampled uniformly to decorrelate updates."""

from lapenna.backend import floatx, xp


class ReplayBuffer:
    """Experience replay (Lin, 1992; Mnih et al., 2015): the last ``capacity`` transitions
    ``(s, a, r, s', terminated)`` in preallocated arrays, overwritten oldest first.

    Sampling mini-batches from it breaks the correlation of consecutive steps and reuses
    each transition in many updates.

    Args:
        capacity: how many transitions are kept (an int > 0).
        obs_shape: the shape of one observation.
        obs_dtype: the dtype observations are stored in (default floatx; uint8 frames
            stay uint8, a quarter of the memory, and are cast when sampled).

    Example:
        >>> buffer = ReplayBuffer(100, (4,))
        >>> buffer.add([0, 0, 0, 0], 1, 1.0, [0, 0, 0, 1], False)
        >>> len(buffer)
        1
    """

    def __init__(self, capacity, obs_shape, obs_dtype=None):
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity <= 0:
            raise ValueError(f"ReplayBuffer: capacity must be an int > 0, got {capacity!r}")
        dtype = xp.dtype(obs_dtype or floatx())
        self.capacity = capacity
        self.obs = xp.zeros((capacity, *obs_shape), dtype=dtype)
        self.next_obs = xp.zeros((capacity, *obs_shape), dtype=dtype)
        self.actions = xp.zeros(capacity, dtype=xp.int64)
        self.rewards = xp.zeros(capacity, dtype=floatx())
        self.terminated = xp.zeros(capacity, dtype=floatx())
        self.position, self.size = 0, 0

    def __len__(self):
        return self.size

    def add(self, obs, action, reward, next_obs, terminated):
        """Store one transition (a truncated episode is not terminated: it bootstraps)."""
        i = self.position
        self.obs[i], self.next_obs[i] = obs, next_obs
        self.actions[i], self.rewards[i], self.terminated[i] = action, reward, terminated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size, rng):
        """``batch_size`` transitions drawn uniformly with replacement from ``rng``."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        index = rng.integers(0, self.size, size=batch_size)
        obs, next_obs = self.obs[index], self.next_obs[index]
        if obs.dtype != self.rewards.dtype:
            obs, next_obs = obs.astype(self.rewards.dtype), next_obs.astype(self.rewards.dtype)
        return (
            obs,
            self.actions[index],
            self.rewards[index],
            next_obs,
            self.terminated[index],
        )

    def get_state(self):
        """The stored transitions and the write position, as arrays."""
        n = self.size
        return {
            "obs": self.obs[:n],
            "next_obs": self.next_obs[:n],
            "actions": self.actions[:n],
            "rewards": self.rewards[:n],
            "terminated": self.terminated[:n],
            "position": xp.asarray(self.position, dtype=xp.int64),
        }

    def check_state(self, state):
        """Raise ValueError when ``state`` cannot be restored into this buffer."""
        names = {"obs", "next_obs", "actions", "rewards", "terminated", "position"}
        if set(state) != names:
            raise ValueError(f"replay buffer state needs {sorted(names)}, got {sorted(state)}")
        n = len(state["actions"])
        if n > self.capacity or not 0 <= int(state["position"]) < self.capacity:
            raise ValueError(f"replay buffer state of {n} transitions exceeds {self.capacity}")
        for name in ("obs", "next_obs"):
            if tuple(state[name].shape) != (n, *self.obs.shape[1:]):
                raise ValueError(
                    f"replay buffer {name} has shape {tuple(state[name].shape)}, expected "
                    f"{(n, *self.obs.shape[1:])}"
                )
        for name in ("rewards", "terminated"):
            if tuple(state[name].shape) != (n,):
                raise ValueError(f"replay buffer {name} has shape {tuple(state[name].shape)}")

    def set_state(self, state):
        n = len(state["actions"])
        for name in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, name)[:n] = state[name]
        self.size, self.position = n, int(state["position"])
