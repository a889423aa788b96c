"""RGB frames and GIF episodes."""
import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image, ImageSequence

from envs import rule_based
from envs.multiagentenv import CoreEnv
from envs.render import AGENT_COLOURS, EMPTY, PREY_COLOURS, WALL, render_rgb, write_gif
from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore


def test_frame_shape_and_colours():
    env = CoreEnv(StagHuntCore, 2, n_agents=2, layout=["1#S", ".H2"])
    env.reset()
    frame = render_rgb(env.core, index=1, cell=8)
    assert frame.dtype == np.uint8 and frame.shape == (16, 24, 3)
    centre = frame[4::8, 4::8]  # one pixel per cell
    assert tuple(centre[0, 1]) == WALL and tuple(centre[0, 2]) == PREY_COLOURS["stag"]
    assert tuple(centre[1, 0]) == EMPTY and tuple(centre[1, 1]) == PREY_COLOURS["hare"]
    assert tuple(centre[0, 0]) == AGENT_COLOURS[0] and tuple(centre[1, 2]) == AGENT_COLOURS[1]
    env = CoreEnv(SnowdriftCore, 1, n_agents=1, layout=["1D"])
    env.reset()
    assert tuple(render_rgb(env.core, cell=8)[4, 12]) == PREY_COLOURS["drift"]


def test_episode_gif_written_and_readable(tmp_path):
    env = CoreEnv(StagHuntCore, 1, seed=2)
    env.reset()
    policy = rule_based.make("stag_hunt", "NS")
    frames = [render_rgb(env.core)]
    while not env.done.all():
        env.step(policy.act(env, np.arange(env.n_agents)))
        frames.append(render_rgb(env.core))
    path = write_gif(frames, tmp_path / "episode.gif", fps=5)
    back = iio.imread(path, index=None)
    assert back.shape[1:3] == frames[0].shape[:2]
    np.testing.assert_array_equal(back[0], frames[0])
    with Image.open(path) as gif:  # identical consecutive frames are merged, their durations added
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    assert len(durations) == back.shape[0] and sum(durations) == pytest.approx(200 * len(frames))
    with pytest.raises(ValueError, match="no frames"):
        write_gif([], tmp_path / "empty.gif")
