"""Atari-style preprocessing (Mnih et al., 2015): grayscale, downsample, stack of 4 frames.

A 210x160 RGB frame becomes an 84x84 gray one (the luma weights and a bilinear
resampling, both written with lapenna's ops: a weighted sum over the channel axis and
``R_h @ x @ R_w^T``), and the last 4 frames are stacked on the channel axis so that a
convolutional Q-network sees motion: ``(84, 84, 4)`` uint8 observations, channels last.
"""

from lapenna import ops
from lapenna.autograd import no_grad, tensor
from lapenna.backend import xp
from lapenna.rl._gym import gymnasium, make_env

# the luma weights of gymnasium.wrappers.GrayscaleObservation (ITU-R BT.709)
LUMA = (0.2125, 0.7154, 0.0721)


def preprocess_frame(frame, size=(84, 84), grayscale=True):
    """One ``(H, W, C)`` uint8 frame -> ``(size[0], size[1], 1 or C)`` uint8.

    Args:
        frame: an RGB (or single-channel) image array.
        size: the output height and width (None keeps the frame's size).
        grayscale: collapse RGB to one channel with the :data:`LUMA` weights.
    """
    frame = xp.asarray(frame)
    if frame.ndim != 3 or (grayscale and frame.shape[-1] != 3):
        raise ValueError(
            f"preprocess_frame expects an (H, W, 3) RGB frame, got shape {frame.shape}"
        )
    with no_grad():
        x = tensor(frame.astype(xp.float32))
        if grayscale:
            x = ops.sum(x * tensor(xp.asarray(LUMA, dtype=xp.float32)), axis=-1, keepdims=True)
        if size is not None and tuple(size) != tuple(frame.shape[:2]):
            x = ops.resize2d(x[None], tuple(size))[0]
    return xp.clip(x.data, 0, 255).astype(xp.uint8)  # truncation, as a uint8 cast does


def atari_preprocessing(env, size=(84, 84), grayscale=True, frame_stack=4):
    """Wrap ``env`` (or its id) so that observations are ``(h, w, frame_stack * channels)``
    uint8 stacks of preprocessed frames, the newest last.

    Args:
        env: a Gymnasium environment with ``(H, W, 3)`` uint8 image observations.
        size: the frames' new height and width.
        grayscale: one channel per frame instead of three.
        frame_stack: how many consecutive frames an observation holds (1: no stacking).

    Returns:
        The wrapped ``gymnasium.Env``.
    """
    gym, env = gymnasium(), make_env(env)
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 3:
        raise ValueError(f"atari_preprocessing expects (H, W, C) image observations, got {space}")
    if not isinstance(frame_stack, int) or frame_stack <= 0:
        raise ValueError(
            f"atari_preprocessing: frame_stack must be an int > 0, got {frame_stack!r}"
        )
    height, width = size if size is not None else space.shape[:2]
    channels = 1 if grayscale else space.shape[2]
    frame_space = gym.spaces.Box(0, 255, (height, width, channels), dtype=xp.uint8)
    env = gym.wrappers.TransformObservation(
        env, lambda obs: preprocess_frame(obs, size, grayscale), frame_space
    )
    if frame_stack == 1:
        return env
    env = gym.wrappers.FrameStackObservation(env, frame_stack)  # (stack, h, w, c)
    stacked = gym.spaces.Box(0, 255, (height, width, frame_stack * channels), dtype=xp.uint8)
    return gym.wrappers.TransformObservation(env, _channels_last, stacked)


def _channels_last(stack):
    stack = xp.asarray(stack)
    return xp.ascontiguousarray(stack.transpose(1, 2, 0, 3).reshape(*stack.shape[1:3], -1))
