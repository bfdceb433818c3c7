"""Train word2vec skip-gram with negative sampling (`specs/word2vec.arch`) on a made-up corpus.

The corpus has planted structure: each sentence is about one topic (animals, colours, numbers,
fruit, tools, weather) and mostly uses that topic's words, with function words ("the", "of")
mixed in everywhere. Words of one topic share their contexts, so skip-gram should place them
together. `SkipGram` is built with a tiny vocabulary; its two named layers are the two matrices
of word2vec, `in_vectors` (the word vectors kept after training) and `out_vectors` (the context
vectors). Negative sampling (Mikolov et al., 2013) trains both directly: the score of a (word,
context) pair is the dot product of their rows. The script prints the loss, then the nearest
neighbours of a few words by cosine similarity, and the most likely context words that the
spec's own forward pass (a softmax over the whole vocabulary) predicts.

    python examples/word2vec.py            # 50-dimensional vectors, 1,000 steps (under a minute)
    python examples/word2vec.py --quick    # 16 dimensions, a few hundred steps
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import _common
import torch
from torch import nn

from archc import runtime

SPEC = "zoo:word2vec"
TOPICS = {
    "animals": "cat dog horse cow sheep goat",
    "colours": "red green blue yellow purple orange",
    "numbers": "one two three four five six",
    "fruit": "apple banana cherry grape lemon mango",
    "tools": "hammer saw drill wrench pliers chisel",
    "weather": "rain snow wind storm fog sun",
}
FUNCTION_WORDS = ["the", "a", "of", "and", "to", "in"]
WORDS = [*FUNCTION_WORDS, *(w for words in TOPICS.values() for w in words.split())]
INDEX = {word: i for i, word in enumerate(WORDS)}
TOPIC_SIZE = 6  # words per topic
TOPIC_OF = {w: topic for topic, words in TOPICS.items() for w in words.split()}
ON_TOPIC = 0.7  # the chance that a word of a sentence comes from its topic
WINDOW = 2
NEGATIVES = 5


@dataclass(frozen=True)
class Result:
    losses: list[float]
    neighbours: dict[str, list[str]]  # query word -> nearest words, closest first
    purity: float  # the share of every topic word's nearest neighbours from its own topic


def corpus(sentences: int, length: int, rng: random.Random) -> list[list[str]]:
    """Sentences that each keep to one topic, with function words in between."""
    text = []
    for _ in range(sentences):
        topic = TOPICS[rng.choice(list(TOPICS))].split()
        text.append(
            [
                rng.choice(topic if rng.random() < ON_TOPIC else FUNCTION_WORDS)
                for _ in range(length)
            ]
        )
    return text


def skipgram_pairs(text: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (centre, context) pair of word ids at most WINDOW words apart in a sentence."""
    pairs = [
        (INDEX[sentence[i]], INDEX[sentence[j]])
        for sentence in text
        for i in range(len(sentence))
        for j in range(max(0, i - WINDOW), min(len(sentence), i + WINDOW + 1))
        if i != j
    ]
    centres, contexts = torch.tensor(pairs).unbind(dim=1)
    return centres, contexts


def negative_sampling_loss(
    model: nn.Module, centres: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """-log s(u_o . v_c) - sum over the negatives n of log s(-u_n . v_c), averaged over pairs."""
    v = model.in_vectors(centres)  # (B, dim)
    u = model.out_vectors.weight  # (vocab, dim): the rows the full softmax would read
    positive = (u[contexts] * v).sum(dim=-1)  # (B,)
    negative = torch.einsum("bkd,bd->bk", u[negatives], v)  # (B, K)
    return -(
        nn.functional.logsigmoid(positive) + nn.functional.logsigmoid(-negative).sum(dim=-1)
    ).mean()


def nearest(vectors: torch.Tensor, word: str, count: int) -> list[str]:
    """The ``count`` words whose vectors have the highest cosine similarity to ``word``'s."""
    unit = nn.functional.normalize(vectors, dim=1)
    similarity = unit @ unit[INDEX[word]]
    similarity[INDEX[word]] = -2.0  # below any cosine: a word is not its own neighbour
    return [WORDS[i] for i in similarity.topk(count).indices.tolist()]


def topic_purity(vectors: torch.Tensor) -> float:
    """Over every topic word, the share of its nearest neighbours from its own topic."""
    hits = [
        TOPIC_OF.get(other) == topic
        for word, topic in TOPIC_OF.items()
        for other in nearest(vectors, word, TOPIC_SIZE - 1)
    ]
    return sum(hits) / len(hits)


def main(argv: list[str] | None = None) -> Result:
    args = _common.training_parser(__doc__).parse_args(argv)
    data = _common.seed_everything(args.seed)
    dim, steps, sentences = (16, 300, 400) if args.quick else (50, 1000, 4000)
    batch = 256
    model = runtime.build(
        SPEC, "SkipGram", seed=args.seed, device=args.device, vocab=len(WORDS), dim=dim
    )
    centres, contexts = skipgram_pairs(corpus(sentences, 10, random.Random(args.seed)))
    _common.say(f"SkipGram: {len(WORDS)} words, {dim} dimensions, {len(centres):,} pairs")

    # Negatives are drawn from the unigram distribution raised to 3/4, as in the paper.
    noise = torch.bincount(contexts, minlength=len(WORDS)).float() ** 0.75
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in _common.progress(range(1, steps + 1), "training"):
        chosen = torch.randint(len(centres), (batch,), generator=data)
        negatives = torch.multinomial(noise, batch * NEGATIVES, True, generator=data)
        loss = negative_sampling_loss(
            model,
            centres[chosen].to(args.device),
            contexts[chosen].to(args.device),
            negatives.view(batch, NEGATIVES).to(args.device),
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % (steps // 5) == 0 or step == 1:
            _common.say(f"step {step:5d}  loss {loss.item():.3f}")
    return _report(model, losses)


def _report(model: nn.Module, losses: list[float]) -> Result:
    vectors = model.in_vectors.weight.detach().cpu()
    queries = [words.split()[0] for words in TOPICS.values()]
    neighbours = {word: nearest(vectors, word, 4) for word in queries}
    _common.say("nearest neighbours (cosine similarity of in_vectors):")
    for word, found in neighbours.items():
        _common.say(f"  {word:<8} {', '.join(found)}")
    purity = topic_purity(vectors)
    chance = (TOPIC_SIZE - 1) / (len(WORDS) - 1)
    _common.say(f"neighbours from the same topic: {purity:.0%} (chance {chance:.0%})")

    word = queries[0]
    with torch.no_grad():  # the spec's forward pass: scores of every word as context of `word`
        logits = model(torch.tensor([INDEX[word]], device=model.in_vectors.weight.device))
    likely = [WORDS[i] for i in logits[0].topk(5).indices.tolist()]
    _common.say(f"likely context of {word!r} by the forward pass: {', '.join(likely)}")
    return Result(losses, neighbours, purity)


if __name__ == "__main__":
    main()
