#pragma once

// The byte-level BPE tokenizer of CLIP (the text encoder of Stable Diffusion
// 1.5, CLIP ViT-L/14), in plain C++: no torch, Qt or OpenCV.
//
// Text is cleaned (basic HTML entities, a few ftfy-style fixes, whitespace
// collapsed, lower-cased), split into pre-tokens the way CLIP's regex does,
// and each pre-token is merged with the ranked merges of
// bpe_simple_vocab_16e6.txt(.gz). Where this differs from the Python
// reference (ftfy, full Unicode tables) is described in clip_tokenizer.cpp.

#include <memory>
#include <string>
#include <vector>

namespace diffss {

class ClipTokenizer {
public:
    // Ids of the special tokens in the standard vocabulary (48894 merges).
    static constexpr int kBos = 49406, kEos = 49407;
    // Merges the standard vocabulary uses: 49152 - 256 - 2.
    static constexpr int kMergeCount = 48894;
    // Length of the sequences SD 1.5's text encoder takes.
    static constexpr int kContextLength = 77;

    // Loads the merges file (gzip or plain text): its first line (a version
    // comment) is skipped and the next mergeCount lines are the merges, each
    // "a b". Throws IoError: Unreadable (cannot open or read), Empty (no
    // bytes or no text), Corrupt (bad gzip data, fewer than mergeCount merge
    // lines, or a malformed line). Throws std::invalid_argument if
    // mergeCount < 0.
    static ClipTokenizer fromFile(const std::string &mergesPath, int mergeCount = kMergeCount);

    // The BPE ids of the cleaned text, without BOS/EOS.
    std::vector<int> tokenize(const std::string &text) const;

    // bosId() + tokenize(text) + eosId(), cut to `length` ids (the last one
    // then being eosId()) and padded with eosId() to exactly `length` ids.
    // Throws std::invalid_argument if length < 2.
    std::vector<int> encode(const std::string &text, int length = kContextLength) const;

    // The text of the ids: BOS/EOS ids are left out, each end of word
    // becomes one space, trailing spaces are removed and invalid UTF-8 is
    // replaced by U+FFFD. decode(tokenize(t)) is cleaned t with the
    // pre-tokens separated by spaces ("toy, best" gives "toy , best").
    // Throws std::out_of_range for an id outside the vocabulary.
    std::string decode(const std::vector<int> &ids) const;

    // 256 bytes + 256 end-of-word bytes + merges + 2 specials (49408 standard).
    int vocabularySize() const;

    // The start and end ids of this vocabulary (kBos, kEos for the standard one).
    int bosId() const;
    int eosId() const;

    // The vocabulary symbol of an id (byte-mapped UTF-8, e.g. "cat</w>");
    // throws std::out_of_range for an id outside the vocabulary.
    std::string symbol(int id) const;

    // The id of a vocabulary symbol, or -1 if there is none.
    int idOf(const std::string &symbol) const;

    // The text as tokenize() sees it after cleaning (entities, whitespace,
    // lower case), for display and tests.
    static std::string clean(const std::string &text);

private:
    struct Impl;
    explicit ClipTokenizer(std::shared_ptr<Impl> impl);
    // Shared by copies; immutable tables plus a mutex-guarded word cache, so
    // a const tokenizer may be used from several threads.
    std::shared_ptr<Impl> impl_;
};

} // namespace diffss
