"""All thresholds and knobs of the pipeline, in one place, with the reason for each default."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

from flows.core.errors import ConfigError


def _check_unit(section: str, key: str, value: float) -> None:
    """Raise ConfigError unless 0 < value <= 1."""
    if not 0 < value <= 1:
        raise ConfigError(f"[{section}] {key} = {value}: must be in (0, 1]")


@dataclass(frozen=True)
class IngestConfig:
    """Limits for reading inputs."""

    # A news article is rarely above 200 KB of text; 5 MB leaves room for live blogs while keeping
    # one hostile file from exhausting memory.
    max_file_bytes: int = 5 * 1024 * 1024
    extensions: tuple[str, ...] = (".txt", ".md", ".jsonl", ".json", ".html", ".htm", ".parquet")
    # Skip a local file whose stamp (size, mtime and ctime in ns, device, inode) is one an
    # earlier run's ledger recorded, without reading it, as git trusts its index: hashing every
    # file of a landing folder that keeps its files made each run's ingest grow with the inbox
    # (bench/soak.py's 100 MB inbox: 0.078 s hashed, 0.006 s by stamps). False hashes every file.
    trust_file_stamps: bool = True
    # Bytes at the start of an HTML file searched for its `<meta charset>` (or http-equiv
    # Content-Type) and XML declarations. The WHATWG prescan reads 1024; pages that put long
    # comments, scripts or link lists before the declaration need more (a little generous).
    declaration_bytes: int = 4096
    # Largest share of a text's bytes that decoding may replace with U+FFFD (invalid in the
    # chosen encoding) and still publish it; above it the text is `unreadable:undecodable`.
    # A stray byte or two in a page (a truncated copy-paste) is far below it; text in another
    # encoding than the one tried replaces every non-ASCII letter (French or German prose:
    # 2-5% of bytes). Of the 451 pages of ../shared's news_extraction and scrapinghub corpora
    # none has a byte to replace (2026-12-02).
    max_replaced_share: float = 0.01
    # Undeclared legacy text: windows-1252 (as browsers decode it) is taken over
    # charset-normalizer's best guess when its decoding's chaos is at most this much higher.
    # A short English cp1252 paragraph ("Café: the city’s menu costs €45 ...") came out as
    # mac_latin2 ("Cafť", "cityís", "Ä45") at chaos 0.0 against 0.024 for cp1252; Czech,
    # Russian and Greek text read as cp1252 score 0.22, 1.19 and 1.91.
    legacy_chaos_margin: float = 0.03

    def __post_init__(self) -> None:
        if self.declaration_bytes < 0:
            raise ConfigError(
                f"[ingest] declaration_bytes must be >= 0, not {self.declaration_bytes}"
            )
        if self.legacy_chaos_margin < 0:
            raise ConfigError("[ingest] legacy_chaos_margin must be >= 0")
        if not 0 <= self.max_replaced_share < 1:
            raise ConfigError(
                f"[ingest] max_replaced_share = {self.max_replaced_share}: must be in [0, 1)"
            )


@dataclass(frozen=True)
class MinHashConfig:
    """MinHash signature parameters shared by the document and passage stages."""

    num_perm: int = 128  # datasketch default; 128 perms give +-0.044 std error on Jaccard 0.5
    seed: int = 1
    # Word 3-grams. Outlets edit wire copy (5-10% of words, typos, a paragraph dropped), and
    # each edited word breaks n n-grams: on bench/syndication_hard.py's tune split (Reuters
    # stories, 8 outlets) same-story pairs have exact Jaccard (1st percentile) 0.15 on word
    # 5-grams, 0.29 on 3-grams, while different stories of one topic and day reach 0.15 and
    # 0.31 there; at the rule below, 3-grams score F1 0.985 where 5-grams scored 0.49 (the
    # old rule). Character 5-grams separate worse (different stories up to 0.58).
    ngram: int = 3
    # Character n-grams for passages: short passages have too few word 5-grams.
    char_ngram: int = 5


@dataclass(frozen=True)
class DedupConfig:
    """Near-duplicate detection on boilerplate-free text."""

    # Estimated Jaccard (word 3-grams) at which two texts are copies whatever their lengths.
    # The main rule is `coverage` below; this one matters for texts of very unequal length.
    threshold: float = 0.5
    # How LSH candidates are verified: "estimated" (signature agreement; +-0.04 at 128 perms)
    # or "exact" (Jaccard of the shingle sets, for pairs within a run; pairs reaching history
    # are estimated, as history keeps signatures, not shingles). Exact scored no better on the
    # tune split (F1 0.984 against 0.985).
    verify: str = "estimated"
    # A truncated copy is also a copy when the shorter text's n-grams are this much contained
    # in the longer one's (estimated from Jaccard and shingle counts) ...
    containment: float = 0.8
    # ... and it has more than this share of the longer one's n-grams; a text inside a much
    # longer one (a one-paragraph brief of a story, a report inside a live blog) is reported
    # `contained_in`, not a duplicate: "a copy keeps half of the other". 0.3 merged briefs
    # with their full stories (tune split: 154 of 167 false pairs).
    containment_min_ratio: float = 0.5
    # The main rule: a pair is a copy when the n-grams it shares are at least this share of
    # the longer text's n-grams, however both sides were edited. Tune split (pair F1 / merges
    # of different stories, before the names veto and `short_coverage`): 0.375 -> 0.983 / 1,
    # 0.4 -> 0.985 / 0, 0.425 -> 0.985 / 0 (recall lower); with both, 0.981 / 0 at 0.4.
    # For texts of equal length it is Jaccard 0.25.
    coverage: float = 0.4
    # The same rule when the shorter text has fewer than `short_tokens` n-grams: short notices
    # of one template (stock splits, exchange listings of different companies) share a third
    # of their few n-grams by their wording alone. Tune split F1 0.982 / 0.981 / 0.978 at
    # 0.45 / 0.5 / 0.55 (0.985 with none); on Reuters-21578 pairs merged beyond its exact
    # Jaccard >= 0.8 gold: 919 without it, 645 at 0.5, 492 with no coverage rule for short texts.
    short_coverage: float = 0.5
    # Aligned words: a pair the n-gram rules above reject is still a copy when at least this
    # share of the longer text's words align, in order, with the other's (word LCS / longer
    # text's words; 0 turns it off). An edit breaks three word 3-grams but one aligned word:
    # copies edited on both sides (typos, 5-10% of words, a paragraph dropped) that share a
    # third of their 3-grams still align 0.8. Such a pair is refused when a template slot
    # (figure, day, month) or a capitalised name was rewritten in place, a typo aside, below
    # a headline (`figure_replaced(names=True)`), and by `aligned_min_shared` below.
    # On since 2026-12-03 (bench/dedup_quality.py): tune split F1 0.9875 / 0.9900 / 0.9909 /
    # 0.9909 at off / 0.6 / 0.5 / 0.4, no merges; 0.5 is the strictest of the best. Held-out,
    # reported once: 0.9696 -> 0.9769, no merges. On real Reuters-21578 it adds 7 pairs, all
    # read by hand as one story told twice (one company's offering, split, sale, drug approval
    # or debenture conversion, rewritten; a Bank of England revision); none on BBC. Before
    # typos and headlines were told apart it added 12 Reuters pairs, 5 of them notices of one
    # template about other weeks or companies, and stayed off.
    aligned_coverage: float = 0.5
    # ... when the shorter text has at least this share of the longer's words: a brief (the
    # lede alone) aligns wholly with its story but is not its copy (the 3 tune-split briefs
    # left at 0.5 are under 0.6).
    aligned_min_ratio: float = 0.6
    # ... and when the texts share this much of the larger set of figures and of names (a
    # copy of about the same length keeps them on both sides; the vetoes ask only
    # `numbers_min_shared` of the smaller set): notices of one template align on their
    # wording (Sterling M3 January vs February: 0.58 aligned, a month's figures repeated).
    # Held-out F1 0.945 / 0.937 at 0.6 / 0.75; the Reuters additions at 0.6 are read above.
    aligned_min_shared: float = 0.6
    # LSH candidates are sought at this Jaccard: 0.2 chooses 64 bands x 2 rows, P(candidate |
    # J=0.25) = 0.985, J=0.3: 0.998, J=0.05: 0.15. On 21,258 Reuters + BBC texts that is 3.9
    # candidates a document against 0.6 for 42 x 3 (which lost 0.002 F1 on the tune split).
    candidate_threshold: float = 0.2
    # Documents with fewer words of clean text than this are matched only exactly: the remnant
    # of a notice stripped of its template ("Pay April three") is no evidence of a duplicate.
    min_tokens: int = 10
    # Documents with fewer words than this are also signed on character 5-grams and matched on
    # them too (0: never). A typo breaks five of a one-paragraph brief's ~20 word 5-grams but
    # about six of its ~150 character 5-grams: on the syndication set's brief pages, same-story
    # pairs have exact Jaccard (median) 0.32 on word 5-grams and 0.77 on character 5-grams,
    # different stories at most 0.14. Briefs there have 18-27 words.
    short_tokens: int = 50
    # Jaccard on character 5-grams at which two short texts are copies: character n-grams are
    # common to all English text, so this space needs a higher bar than word n-grams
    # (syndication set's briefs: same story median 0.77, different stories at most 0.14 on
    # word 5-grams but up to 0.58 on character 5-grams of Reuters ledes, bench/syndication_hard).
    short_threshold: float = 0.7
    # Figures veto: a pair whose texts both carry at least `numbers_min_count` distinct numbers
    # is a copy only when at least `numbers_min_shared` of the smaller set of numbers is in the
    # other text; two short texts (under `short_tokens` n-grams) must carry the same numbers.
    # Two short texts whose figures differ are still one story when every difference is a
    # figure cut or added with words (`figure_replaced`: no changed region holds a figure, day
    # or month with words on the other side): an outlet dropped a sentence or clause. Tune
    # split 0.980 -> 0.984 F1, held-out 0.963 -> 0.967, no merges; on Reuters-21578 it adds 5
    # pairs, read as a correction and its item, an earnings table with a line cut, one
    # purchase reported twice (2026-12-03). Sets alone merged other days' wheat tables and
    # fund dividends ("6.5 cts vs 6.5 cts" / "6.5 cts vs 6.8 cts").
    # Outlets keep a wire story's figures; reports on one template do not share them
    # (bench/syndication_hard.py, tune split: Reuters' weekly Ghana cocoa purchases, weeks 21
    # and 23, share 31% of their word 3-grams but 2 of 8 numbers; Reuters-21578's Fed funds,
    # hog price, grain ship and copper price notices of other days share all but a figure).
    numbers_min_shared: float = 0.5
    # One figure is enough: "bought 5,000 tonnes" and "7,000 tonnes" are two reports.
    numbers_min_count: int = 1
    # Names veto, the same test on capitalised words not at a sentence start (`names_key`):
    # Reuters-21578's prime-rate, eurobond and stock-split notices of different companies share
    # figures and template but not names (bench/dedup_quality.py part 1 lists such pairs).
    names_min_shared: float = 0.5
    names_min_count: int = 1
    # Bands/rows: None chooses them from the threshold with datasketch's error integration.
    bands: int | None = None
    rows: int | None = None

    def __post_init__(self) -> None:
        for key in (
            "threshold",
            "containment",
            "candidate_threshold",
            "containment_min_ratio",
            "numbers_min_shared",
            "names_min_shared",
            "short_threshold",
            "coverage",
            "short_coverage",
        ):
            _check_unit("dedup", key, getattr(self, key))
        if not 0 <= self.aligned_coverage <= 1:
            raise ConfigError(
                f"[dedup] aligned_coverage = {self.aligned_coverage}: must be in [0, 1]"
            )
        if self.candidate_threshold > self.threshold:
            raise ConfigError("[dedup] candidate_threshold must not exceed threshold")
        if self.verify not in ("estimated", "exact"):
            raise ConfigError(f"[dedup] verify = {self.verify!r}: use 'estimated' or 'exact'")
        if (self.bands is None) != (self.rows is None):
            raise ConfigError("[dedup] give both bands and rows, or neither")
        for key in ("min_tokens", "short_tokens", "numbers_min_count", "names_min_count"):
            if getattr(self, key) < 0:
                raise ConfigError(f"[dedup] {key} must be >= 0, not {getattr(self, key)}")


@dataclass(frozen=True)
class ContainmentConfig:
    """Texts contained in a longer published text (an article inside a live blog).

    Only texts of at most `dedup.containment_min_ratio` of the container's length: closer
    lengths are the dedup stage's truncated copies.
    """

    # Report `contained_in` at all. The run's published documents are searched exactly, by
    # prefix filtering on their word n-grams (`containment_candidates`; history is not
    # searched). Its former knobs `search_threshold` and `num_part` tuned the approximate
    # LSH Ensemble search this replaced (2026-12-03) and are gone.
    enabled: bool = True
    # Share of the shorter text's word n-grams that must lie in the longer text: the same 0.8
    # as dedup.containment, where it separates truncated copies from different stories.
    threshold: float = 0.8

    def __post_init__(self) -> None:
        _check_unit("containment", "threshold", self.threshold)


INVARIANT_MODES = ("repair", "raise")


@dataclass(frozen=True)
class ValidationConfig:
    """Severities of the great-expectations suites (`checks/expectations.py`)."""

    # Expectations, by key `<suite>.<expectation>[.<column>]` (e.g.
    # "claims.expect_column_values_to_not_be_null.source"), that only warn, and ones that block
    # the run; the others keep the severity the suite gives them. An unknown key fails the run.
    warn: tuple[str, ...] = ()
    block: tuple[str, ...] = ()
    # More claims than this per published article is reported (a runaway extractor or file).
    max_claims_per_article: float = 50.0
    # What a failing pipeline invariant does (a check of a column the pipeline derives itself,
    # `checks/models.py` INVARIANTS: no input can break one, so it is a bug of the pipeline).
    # "repair": the document is published in a safe state (its own canonical, containment
    # cleared, ...) and the run counts it (summary `counts.invariant_repairs`, the report, a
    # warning): a bug must never cost a user an article, as quarantining it did (10 pages of a
    # 33,661-page syndication inbox). "raise": the run fails with PipelineInvariantError, so
    # that tests fail loudly; the environment variable NEWSDQ_INVARIANTS overrides this key
    # (flows/io/config.py), and tests/conftest.py sets it to "raise" for the whole suite.
    invariants: str = "repair"

    def __post_init__(self) -> None:
        if self.invariants not in INVARIANT_MODES:
            raise ConfigError(
                f"[validation] invariants = {self.invariants!r}: use one of {list(INVARIANT_MODES)}"
            )
        both = sorted(set(self.warn) & set(self.block))
        if both:
            raise ConfigError(f"[validation] {both} are in both warn and block")
        if self.max_claims_per_article <= 0:
            raise ConfigError("[validation] max_claims_per_article must be > 0")


@dataclass(frozen=True)
class BoilerplateConfig:
    """Passage-level boilerplate detection."""

    # A passage is boilerplate when near-copies occur in at least this many distinct documents
    # that tell different stories. 3: on the sample inbox outlet kits recur in 3-6 pages each,
    # while a quote shared by two reports of one story must survive.
    min_support: int = 3
    # Passage near-duplicate threshold (character 5-grams); boilerplate as scrapers see it is
    # re-wrapped and loses a word or two, which keeps Jaccard above 0.6.
    passage_threshold: float = 0.6
    # Sentence fragments shorter than this stay joined to a neighbour on their line ("Mr.",
    # "Close"), so abbreviations and UI crumbs do not become passages of their own.
    min_passage_chars: int = 20
    # Two documents tell "the same story" when their texts outside the passage score this much
    # weighted overlap; such documents count once towards support.
    # A document "tells its own story" next to a recurring passage when the text it does not share
    # with >= min_support documents is at least this share of it and this many characters. Kits
    # surround unique stories (share >= 0.15 even for one-paragraph briefs on the sample inbox);
    # a syndicated story is surrounded by recurring kits plus small edits (share < 0.08).
    min_story_share: float = 0.1
    min_story_chars: int = 60
    # Documents whose story texts (`story_max_support` below) reach this estimated Jaccard tell
    # one story and count once towards support: one wire story on three single pages of three
    # outlets is not boilerplate. Too low, and short pages dominated by one outlet's kit count
    # as one story (tests/test_boilerplate.py's four stories under one appeal merge at 0.3).
    # 34,173-page syndication inbox (bench/syndication_hard.py pages, one run), share of story
    # words removed, tune / held-out split: 0.5 -> 0.0150 / 0.0434, 0.4 -> 0.0102 / 0.0184,
    # 0.3 -> 0.0094 / 0.0106; kit recall 1.0000 at each (2026-12-02).
    same_story_threshold: float = 0.4
    # A recurring passage is a shared quotation, not boilerplate, when in most of its documents
    # it stands alone (no recurring neighbour) in the middle of the page (outside the first and
    # last `quote_edge` of its passages), is at least `quote_min_chars` long, and recurs in at
    # most `quote_max_support` documents: kits are blocks at a page's top or bottom and recur
    # on every page of an outlet; a sentence several reports quote sits inside their stories.
    # 60 characters: a quoted sentence with its attribution is longer than a photo credit
    # ("( Photo: Ilse Marrow / Courier Pictures )" in the sample inbox is 41; seeds' are ~36).
    quote_edge: float = 0.15
    quote_min_chars: int = 60
    quote_max_support: int = 8
    # A passage whose word 3-grams are this much covered by detected boilerplate is boilerplate
    # too: a blurb split over three lines on one page matches the joined blurb of other pages.
    containment: float = 0.8
    # Documents whose boilerplate share exceeds this are flagged is_boilerplate_heavy.
    heavy_ratio: float = 0.6
    # Support also counts the passages of earlier runs (index/passage-keys-<b>x<r>): a passage of
    # this run and one of history are near-copies when they share enough bands of the banding
    # that (shared / bands) ** (1 / rows) reaches passage_threshold (2 of 25 bands at 0.6; history
    # keeps band hashes, not signatures, so this estimate is all there is to verify with). A
    # bucket's history rows are read up to this many documents: support needs only min_support,
    # and an outlet's kit bucket would otherwise grow with every page the outlet ever published.
    history_bucket_cap: int = 64
    # Support counts the passages of the most recent earlier runs holding at least this many
    # documents, not of all history: what a run reads from the passage index is then bounded
    # (a kit found once stays known through index/boilerplate, whatever its age). Reading all
    # of it, the passage lookup of a run on the soak's 98,000 documents of history peaked at
    # +307 MB; over this window (and filtering on band_hash first) at +124 MB (bench/soak.py,
    # then bench/stage_memory.py on its history, 2026-11-26). On the syndication set's 40 scheduled
    # runs (8 outlets, bench/dedup_quality.py) kit recall is 0.993 with all 1,040 pages of
    # history, 0.993 with the last 104 and 0.992 with the last 52 (index/boilerplate carries
    # kits found earlier; without it 0.992 / 0.983 / 0.938); 20,000 is days of a busy feed.
    history_documents: int = 20_000
    # Passages of at least this many characters are near-copies only when they state the same
    # figures (0: always): a notice of one template repeated daily with new figures ("Treasury
    # balances at the Federal Reserve rose on April 6 to 4.262 billion dlrs from ...") is the
    # story of each page, not a kit around it. Without it the 34,173-page syndication inbox
    # (bench/syndication_hard.py --run-inbox) lost 26 whole articles as empty after cleaning.
    # Kit lines with counts ("12 comments", "Share 34") are shorter than a sentence.
    figures_min_chars: int = 60
    # Pages are told apart as stories (`same_story_threshold`) on their text without the
    # passages that recur in more than this many documents (0: the whole text): a kit on every
    # page of an outlet would make five outlets' copies of a short wire story five stories,
    # and the story then recurs "around different stories" and goes as boilerplate (34,173-page
    # syndication inbox, bench/syndication_hard.py --run-inbox: 36 pages emptied, most of them
    # briefs whose lede recurs in the full copies, and 7.95% of all story words removed; with
    # it 9 and 2.88% at `same_story_threshold` 0.5). 8, as `quote_max_support`: a story
    # recurs in a handful of outlets of one inbox.
    story_max_support: int = 8
    # Single-page classifier (flows/core/page_boilerplate.py, two stacked logistic stages whose
    # weights bench/train_page_boilerplate.py trains on the news_extraction and scrapinghub
    # pages and on trafilatura's evaluation set, its lines labelled by its snippets and by
    # recurrence across sites): a line scoring at least `page_threshold` is boilerplate even if
    # it never recurs, unless its passage is a shared quotation. 0.80: the lowest threshold at
    # which, in leave-one-site-group-out cross-validation on trafilatura's main text of the 10
    # tuning groups (held-out sites latimes, nypost and scrapinghub bucket 3 excluded), it
    # removed at most 0.45% of gold content characters (0.44%, target <= 0.5%; P 0.772, R 0.365
    # of boilerplate characters; 0.78 loses 0.50%, 0.82 0.40%) (2026-12-07, weights trained
    # with trafilatura's set and its cross-site labels; bench/train_page_boilerplate.py --cv).
    # On by default since 2026-12-03; held-out figures and what it misses on the seeds:
    # docs/design.md (Boilerplate on a single page).
    page_classifier: bool = True
    page_threshold: float = 0.80
    # Bridging (`page_boilerplate.bridged`): a run of at most `page_bridge_lines` lines of a
    # page scoring at least `page_bridge_threshold` (but under `page_threshold`) goes when the
    # lines on both sides of it score at least `page_threshold`; 0 lines: off. Off by default:
    # measured 2026-12-07 (docs/design.md, Boilerplate on a single page), 2 lines at 0.65
    # remove every seed kit line and keep the held-out sites within target (0.31% of gold
    # content lost, 0.29% without; token F1 0.9705 either way), but cross-validated main-text
    # loss rises from 0.44% to 0.52%, over the 0.45% rule that chose `page_threshold`, and 0.65
    # was read off the seeds' scores, not chosen by cross-validation.
    page_bridge_lines: int = 0
    page_bridge_threshold: float = 0.65

    def __post_init__(self) -> None:
        for key in (
            "passage_threshold",
            "min_story_share",
            "same_story_threshold",
            "containment",
            "quote_edge",
            "page_threshold",
            "page_bridge_threshold",
        ):
            _check_unit("boilerplate", key, getattr(self, key))
        if self.page_bridge_lines < 0:
            raise ConfigError("[boilerplate] page_bridge_lines must be >= 0")
        if self.page_bridge_lines and self.page_bridge_threshold >= self.page_threshold:
            raise ConfigError(
                "[boilerplate] page_bridge_threshold must be below page_threshold, or bridging "
                "removes nothing"
            )
        if self.min_support < 2:
            raise ConfigError("[boilerplate] min_support must be at least 2")
        if self.history_documents < 0 or self.history_bucket_cap < 1:
            raise ConfigError(
                "[boilerplate] history_documents must be >= 0 and history_bucket_cap >= 1"
            )


@dataclass(frozen=True)
class ClaimsConfig:
    """Claim extraction."""

    extractor: str = "rules-v1"


RUNNER_KINDS = ("threads", "processes", "dask")


@dataclass(frozen=True)
class RunnerConfig:
    """Where the shard-level stages run (ingest+normalise, signatures, claim extraction).

    Boilerplate, clustering and validation need every document of the run and stay in the flow
    process; the shard stages read and write Parquet shards under the output's `_staging/`
    folder, so a worker on another machine needs the output on a shared store.
    """

    # "threads": Prefect's ThreadPoolTaskRunner in the flow process (no set-up; numba and polars
    # release the GIL for the heavy parts, but claim extraction is Python and holds it).
    # "processes": Prefect's ProcessPoolTaskRunner, `max_workers` processes (0: one per core)
    # on this machine, so that the Python shard work (claims) uses every core. "dask":
    # prefect-dask's DaskTaskRunner, on the
    # cluster at `dask_address`, or on a LocalCluster of `n_workers` processes started for the
    # run when it is empty.
    kind: str = "threads"
    # Threads (or processes) of the thread (process) runner; 0: one thread a usable core (more
    # threads than cores only queue for the GIL), or Prefect's default number of processes.
    max_workers: int = 0
    # Under the threads runner, the ingest and claims shards run in this many spawned worker
    # processes (`flows/io/workers.py`), since reading files and the rule extractor hold the
    # GIL; 0: one a usable core, 1: none (in the shard threads). A stage of one shard opens
    # none. (34,173-page inbox, 2 cores: ingest 4.1 -> 2.1 s, claims 7.1-8.0 -> 4 s.)
    worker_processes: int = 0
    # A running Dask scheduler ("tcp://host:8786"); empty: start a LocalCluster for the run.
    dask_address: str = ""
    # LocalCluster size: one process per core, one thread each, since the shard work is CPU-bound
    # Python (claims) or numba (signatures) and processes sidestep the GIL.
    n_workers: int = 2
    threads_per_worker: int = 1
    # Shard sizes. Files: a shard task reads its files and normalises them, and closes at
    # `shard_bytes` of input or `shard_files` files, whichever comes first (remote files of
    # unknown size count by files alone). A Prefect task run against a server costs tens of
    # milliseconds: the 34,173-page syndication inbox (139 MB) in shards of 64 files was 526
    # task runs and 37 s of ingest; one shard's own work is 0.53 ms a file at 64 files and
    # 0.21 ms at 4,096 (2026-12-03). 16 MB keeps a shard's frames small (a few hundred MB)
    # and still gives two cores work on an inbox over 32 MB. Documents per
    # signature shard: the numba kernel signs ~100,000 documents/s, so 20,000 is ~0.2 s plus
    # I/O. Articles per claim shard: the rule extractor handles ~200 articles/s, so 1,000 is
    # ~5 s. Shards are contiguous slices of a sorted list: the result does not depend on them.
    shard_files: int = 4096
    shard_bytes: int = 16 * 1024 * 1024
    shard_docs: int = 20_000
    shard_articles: int = 1_000
    # Up to this many documents (input files, before the ingest stage), the great-expectations
    # checkpoint's worker process starts before the ingest stage, its import at the lowest
    # CPU priority, and the run writes its tables to its staging folder while the checkpoint
    # runs, committing them once its verdict is known. Above it, the worker starts after the
    # boilerplate stage (the run's memory peak: 300,000 pages 4,035 MB with it started before
    # ingest) and the tables wait for the verdict, so that their writing's memory does not
    # add to the worker's. 34,173-page inbox, 7 alternating pairs of runs (2026-12-07,
    # session 9): the early worker 1.4 s less wall on average (medians 28.03 -> 26.49 s), on
    # top of the tables written meanwhile (docs/measurements.md).
    early_checkpoint_documents: int = 100_000

    def __post_init__(self) -> None:
        if self.kind not in RUNNER_KINDS:
            raise ConfigError(f"[runner] kind = {self.kind!r}: use one of {list(RUNNER_KINDS)}")
        for key in (
            "n_workers",
            "threads_per_worker",
            "shard_files",
            "shard_bytes",
            "shard_docs",
            "shard_articles",
        ):
            if getattr(self, key) < 1:
                raise ConfigError(f"[runner] {key} must be >= 1, not {getattr(self, key)}")
        for key in ("max_workers", "worker_processes", "early_checkpoint_documents"):
            if getattr(self, key) < 0:
                raise ConfigError(f"[runner] {key} must be >= 0, not {getattr(self, key)}")


@dataclass(frozen=True)
class ReportConfig:
    """The run report's trends across earlier runs (`flows/io/report/`)."""

    # Trends cover this run and up to this many earlier runs (published and blocked): about a
    # day of hourly runs, enough to see a slow drift while the chart stays readable.
    history_runs: int = 20
    # A metric drifts when it leaves mean +- band of the earlier runs, the band being the larger
    # of `drift_stdevs` standard deviations and `drift_relative` of the mean: 3 stdevs flag
    # about 0.3% of runs of a stable feed, and the relative floor keeps a feed that never varied
    # (stdev 0) from flagging every small change in volume.
    drift_stdevs: float = 3.0
    drift_relative: float = 0.25
    # Fewer earlier runs than this give no band (one or two runs say nothing about spread).
    drift_min_runs: int = 3

    def __post_init__(self) -> None:
        if self.history_runs < 0:
            raise ConfigError(f"[report] history_runs = {self.history_runs}: must be >= 0")
        if self.drift_stdevs < 0 or self.drift_relative < 0:
            raise ConfigError("[report] drift_stdevs and drift_relative must be >= 0")
        if self.drift_min_runs < 2:
            raise ConfigError("[report] drift_min_runs must be at least 2")


@dataclass(frozen=True)
class OutputConfig:
    """A remote output (an fsspec URL that is not local): its working copy and its lock."""

    # The local working copy of a remote output (a local output folder kept in step with the
    # remote's committed runs); empty: `.newsdq-cache/<sha1 of the URL>` under the current
    # folder, next to where a relative output would be, so it is found again by every run
    # started from the same place (a deployment's working folder, a checkout).
    cache_dir: str = ""
    # A remote lock (`<url>/.lock`) older than this is taken to be left by a dead run and is
    # taken over: far longer than a run (minutes), short enough that a killed run blocks the
    # hourly schedule for a few hours at most.
    lock_ttl_hours: float = 6.0

    def __post_init__(self) -> None:
        if self.lock_ttl_hours <= 0:
            raise ConfigError(f"[output] lock_ttl_hours must be > 0, not {self.lock_ttl_hours}")


@dataclass(frozen=True)
class Settings:
    """Every knob of a run; load overrides from a TOML file with `load_settings`."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    containment: ContainmentConfig = field(default_factory=ContainmentConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    # Read by the report only; here so that one TOML file configures everything about a run.
    report: ReportConfig = field(default_factory=ReportConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


_SECTIONS: dict[str, type] = {
    "ingest": IngestConfig,
    "minhash": MinHashConfig,
    "dedup": DedupConfig,
    "containment": ContainmentConfig,
    "boilerplate": BoilerplateConfig,
    "claims": ClaimsConfig,
    "validation": ValidationConfig,
    "runner": RunnerConfig,
    "report": ReportConfig,
    "output": OutputConfig,
}


def _check_type(section: str, key: str, value: Any, default: Any) -> Any:
    """Return `value` if it fits the type of the default, else raise ConfigError."""
    if default is None:  # optional integers (bands, rows)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(default, tuple):
        ok = isinstance(value, list | tuple)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, type(default)) and not isinstance(value, bool)
    if not ok:
        expected = "int" if default is None else type(default).__name__
        raise ConfigError(f"[{section}] {key} = {value!r}: expected {expected}")
    return value


# Keys an older config file may still set, accepted with a warning for a release.
_REMOVED_KEYS = {
    ("containment", "search_threshold"): "containment is searched exactly since 2026-12-03",
    ("containment", "num_part"): "containment is searched exactly since 2026-12-03",
}


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Build settings from a nested mapping, rejecting unknown sections, keys and bad types."""
    kwargs: dict[str, Any] = {}
    for section, values in data.items():
        cls = _SECTIONS.get(section)
        if cls is None:
            raise ConfigError(f"unknown config section [{section}]; known: {sorted(_SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"config section [{section}] must be a table")
        defaults = cls()
        known = {f.name for f in dataclasses.fields(defaults)}
        checked = {}
        for key, value in values.items():
            if (section, key) in _REMOVED_KEYS:
                warnings.warn(
                    f"[{section}] {key} no longer has an effect: {_REMOVED_KEYS[section, key]}",
                    FutureWarning,
                    stacklevel=2,
                )
                continue
            if key not in known:
                raise ConfigError(f"unknown key {key!r} in [{section}]; known: {sorted(known)}")
            checked[key] = _check_type(section, key, value, getattr(defaults, key))
        kwargs[section] = cls(**checked)
    return Settings(**kwargs)


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """Return settings as a plain nested dict (for the run summary)."""
    return dataclasses.asdict(settings)


def with_runner(settings: Settings, kind: str | None, dask_address: str | None) -> Settings:
    """Return settings with the runner chosen by flow parameters or the command line.

    A `dask_address` implies `kind = "dask"`; None keeps the config's value.
    """
    runner = settings.runner
    if dask_address:
        runner = dataclasses.replace(runner, dask_address=dask_address, kind=kind or "dask")
        if runner.kind != "dask":
            raise ConfigError(f"a Dask address ({dask_address}) needs the dask runner, not {kind}")
    elif kind:
        runner = dataclasses.replace(runner, kind=kind)
    return dataclasses.replace(settings, runner=runner)
