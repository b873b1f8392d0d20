"""Atari-style preprocessing against Gymnasium's grayscale and PyTorch's bilinear resize, the
frame stack, and a convolutional DQN on stacked uint8 frames."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import lapenna as lp  # noqa: E402
import lapenna.rl as rl  # noqa: E402


class Frames(gym.Env):
    """Random 210x160 RGB frames; the episode ends after 12 steps; reward 1 for action 1."""

    observation_space = gym.spaces.Box(0, 255, (210, 160, 3), dtype=np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._frame(), {}

    def step(self, action):
        self.t += 1
        return self._frame(), float(action), False, self.t >= 12, {}

    def _frame(self):
        return self.np_random.integers(0, 256, (210, 160, 3), dtype=np.uint8)


def test_grayscale_matches_gymnasium():
    frame = np.random.default_rng(0).integers(0, 256, (210, 160, 3), dtype=np.uint8)
    ours = rl.preprocess_frame(frame, size=None)
    env = gym.wrappers.GrayscaleObservation(Frames(), keep_dim=True)
    theirs = env.observation(frame)
    assert ours.shape == theirs.shape == (210, 160, 1) and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1  # float32 vs float64 sums


def test_resize_matches_torch_bilinear():
    torch = pytest.importorskip("torch")
    frame = np.random.default_rng(1).integers(0, 256, (210, 160, 3), dtype=np.uint8)
    ours = rl.preprocess_frame(frame, size=(84, 84), grayscale=False)
    x = torch.from_numpy(frame.astype(np.float32)).permute(2, 0, 1)[None]
    ref = torch.nn.functional.interpolate(x, (84, 84), mode="bilinear", align_corners=False)
    ref = ref[0].permute(1, 2, 0).numpy().clip(0, 255).astype(np.uint8)
    assert ours.shape == (84, 84, 3)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_frame_stack_keeps_the_last_four_frames_newest_last():
    env = rl.atari_preprocessing(Frames(), size=(84, 84), frame_stack=4)
    assert env.observation_space.shape == (84, 84, 4)
    first, _ = env.reset(seed=0)
    assert first.shape == (84, 84, 4) and first.dtype == np.uint8
    second, *_ = env.step(0)
    np.testing.assert_array_equal(second[..., :3], first[..., 1:])
    with pytest.raises(ValueError, match="image observations"):
        rl.atari_preprocessing("CartPole-v1")
    with pytest.raises(ValueError, match="RGB frame"):
        rl.preprocess_frame(np.zeros((4, 4)))


def test_dqn_trains_a_conv_network_on_stacked_frames():
    env = rl.atari_preprocessing(Frames(), size=(20, 20), frame_stack=4)
    network = lp.Sequential(
        [
            lp.layers.Input((20, 20, 4)),
            lp.layers.Rescaling(1 / 255),
            lp.layers.Conv2D(4, 5, strides=3, activation="relu"),
            lp.layers.Flatten(),
            lp.layers.Dense(2),
        ]
    )
    agent = rl.DQN(env, network=network, learning_starts=16, batch_size=8, train_freq=2, seed=0)
    agent.learn(total_timesteps=60)
    assert agent.buffer.obs.dtype == np.uint8 and len(agent.buffer) == 60
    assert np.isfinite(agent.last_loss)
    assert agent.predict(env.reset(seed=1)[0]) in (0, 1)
