// Weights-only reader of torch.save checkpoints: the zip directory
// (zip_directory.h) and a pickle machine restricted to
// what tensors and dicts need. Nothing is imported or called: the few globals
// allowed are recognised by name and interpreted here.
#include "diffss/torch_pickle.h"

#include "diffss/error.h"
#include "zip_directory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

namespace diffss {

using detail::littleEndian;

namespace {

constexpr std::size_t kMaxMemo = std::size_t(1) << 22;
constexpr std::size_t kMaxStack = std::size_t(1) << 24;
constexpr int kMaxDepth = 64;
constexpr int kMaxDims = 16;

struct Bad {
    IoErrorKind kind;
    std::string what;
};
[[noreturn]] void corrupt(const std::string &what) { throw Bad{IoErrorKind::Corrupt, what}; }
[[noreturn]] void refuse(const std::string &what) { throw Bad{IoErrorKind::Unsupported, what}; }

// ---------------------------------------------------------------- pickle

struct Value {
    enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor } kind = None;
    std::int64_t i = 0;
    double f = 0;
    std::string s;                                  // Str; Global "module.name"; Storage key
    std::vector<Value *> items;                     // Tuple, List
    std::vector<std::pair<Value *, Value *>> dict;  // Dict, in insertion order
    DType dtype = DType::F32;                       // Storage, Tensor
    std::int64_t numel = 0;                         // Storage
    Value *storage = nullptr;                       // Tensor
    std::int64_t offset = 0;
    std::vector<std::int64_t> shape, stride;
};

struct StorageType {
    const char *name;
    DType dtype;
};
constexpr StorageType kStorages[] = {
    {"torch.FloatStorage", DType::F32}, {"torch.HalfStorage", DType::F16}, {"torch.BFloat16Storage", DType::BF16},
    {"torch.DoubleStorage", DType::F64}, {"torch.LongStorage", DType::I64}, {"torch.IntStorage", DType::I32},
    {"torch.ShortStorage", DType::I16}, {"torch.CharStorage", DType::I8}, {"torch.ByteStorage", DType::U8},
    {"torch.BoolStorage", DType::Bool},
};
constexpr const char *kCallables[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
                                      "torch._utils._rebuild_parameter_with_state"};

bool allowedGlobal(const std::string &name)
{
    for (const auto &s : kStorages)
        if (name == s.name)
            return true;
    for (const char *c : kCallables)
        if (name == c)
            return true;
    return false;
}

class Machine {
public:
    Machine(const std::uint8_t *p, std::size_t n) : p_(p), n_(n) {}

    Value *run()
    {
        while (true) {
            const std::size_t at = pos_;
            const std::uint8_t op = byte();
            switch (op) {
            case 0x80: byte(); break;                     // PROTO
            case 0x95: bytes(8); break;                   // FRAME (length only)
            case '}': push(make(Value::Dict)); break;     // EMPTY_DICT
            case ']': push(make(Value::List)); break;     // EMPTY_LIST
            case ')': push(make(Value::Tuple)); break;    // EMPTY_TUPLE
            case '(': marks_.push_back(stack_.size()); break;   // MARK
            case 't': push(sequence(Value::Tuple, popMark())); break;
            case 'l': push(sequence(Value::List, popMark())); break;
            case 'd': {
                auto items = popMark();
                if (items.size() % 2)
                    corrupt("odd DICT");
                Value *d = make(Value::Dict);
                for (std::size_t k = 0; k < items.size(); k += 2)
                    d->dict.emplace_back(items[k], items[k + 1]);
                push(d);
                break;
            }
            case 0x85: case 0x86: case 0x87: {            // TUPLE1..3
                const std::size_t k = op - 0x84u;
                std::vector<Value *> items(k);
                for (std::size_t j = k; j-- > 0;)
                    items[j] = pop();
                push(sequence(Value::Tuple, std::move(items)));
                break;
            }
            case 'a': {                                   // APPEND
                Value *v = pop();
                list(top())->items.push_back(v);
                break;
            }
            case 'e': {                                   // APPENDS
                auto items = popMark();
                auto &dst = list(top())->items;
                dst.insert(dst.end(), items.begin(), items.end());
                break;
            }
            case 's': {                                   // SETITEM
                Value *v = pop(), *k = pop();
                dictOf(top())->dict.emplace_back(k, v);
                break;
            }
            case 'u': {                                   // SETITEMS
                auto items = popMark();
                if (items.size() % 2)
                    corrupt("odd SETITEMS");
                Value *d = dictOf(top());
                for (std::size_t k = 0; k < items.size(); k += 2)
                    d->dict.emplace_back(items[k], items[k + 1]);
                break;
            }
            case 'X': push(str(littleEndian(bytes(4), 4))); break;          // BINUNICODE
            case 0x8c: push(str(byte())); break;                  // SHORT_BINUNICODE
            case 0x8d: push(str(littleEndian(bytes(8), 8))); break;         // BINUNICODE8
            case 'T': push(str(littleEndian(bytes(4), 4))); break;          // BINSTRING
            case 'U': push(str(byte())); break;                   // SHORT_BINSTRING
            case 'J': push(integer(static_cast<std::int32_t>(littleEndian(bytes(4), 4)))); break;
            case 'K': push(integer(byte())); break;
            case 'M': push(integer(static_cast<std::int64_t>(littleEndian(bytes(2), 2)))); break;
            case 0x8a: {                                  // LONG1
                const std::size_t k = byte();
                if (k > 8)
                    refuse("an integer wider than 64 bits");
                const std::uint8_t *b = bytes(k);
                std::uint64_t v = littleEndian(b, static_cast<int>(k));
                if (k && k < 8 && (b[k - 1] & 0x80))
                    v |= ~std::uint64_t(0) << (8 * k);
                push(integer(static_cast<std::int64_t>(v)));
                break;
            }
            case 'G': {                                   // BINFLOAT, big-endian
                const std::uint8_t *b = bytes(8);
                std::uint64_t bits = 0;
                for (int k = 0; k < 8; ++k)
                    bits = (bits << 8) | b[k];
                Value *v = make(Value::Float);
                std::memcpy(&v->f, &bits, 8);
                push(v);
                break;
            }
            case 'N': push(make(Value::None)); break;
            case 0x88: case 0x89: {
                Value *v = make(Value::Bool);
                v->i = op == 0x88;
                push(v);
                break;
            }
            case 'q': memoize(byte()); break;             // BINPUT
            case 'r': memoize(littleEndian(bytes(4), 4)); break;    // LONG_BINPUT
            case 0x94: memoize(memo_.size()); break;      // MEMOIZE
            case 'h': push(recall(byte())); break;        // BINGET
            case 'j': push(recall(littleEndian(bytes(4), 4))); break;
            case 'c': {                                   // GLOBAL module\nname\n
                const std::string module = line(), name = line();
                push(global(module + "." + name));
                break;
            }
            case 0x93: {                                  // STACK_GLOBAL
                Value *name = pop(), *module = pop();
                if (name->kind != Value::Str || module->kind != Value::Str)
                    corrupt("STACK_GLOBAL without strings");
                push(global(module->s + "." + name->s));
                break;
            }
            case 'Q': push(persistent(pop())); break;     // BINPERSID
            case 'R': {                                   // REDUCE
                Value *args = pop(), *callable = pop();
                push(reduce(callable, args));
                break;
            }
            case 'b': {                                   // BUILD: state of a dict or tensor is dropped
                pop();
                const Value *target = top();
                if (target->kind != Value::Dict && target->kind != Value::Tensor)
                    refuse("BUILD on something other than a dict or tensor");
                break;
            }
            case '.':                                     // STOP
                if (stack_.size() != 1)
                    corrupt("the pickle ends with " + std::to_string(stack_.size()) + " values on its stack");
                return stack_.back();
            default: {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", op);
                refuse(std::string("pickle opcode ") + hex + " at byte " + std::to_string(at)
                       + " (only tensors, dicts, lists and numbers are read)");
            }
            }
        }
    }

private:
    std::uint8_t byte() { return *bytes(1); }
    const std::uint8_t *bytes(std::uint64_t k)
    {
        if (k > n_ - pos_)
            corrupt("the pickle ends early");
        const std::uint8_t *b = p_ + pos_;
        pos_ += static_cast<std::size_t>(k);
        return b;
    }
    std::string line()
    {
        const std::uint8_t *start = p_ + pos_;
        const void *nl = std::memchr(start, '\n', std::min<std::size_t>(n_ - pos_, 256));
        if (!nl)
            corrupt("unterminated GLOBAL");
        const auto len = static_cast<std::size_t>(static_cast<const std::uint8_t *>(nl) - start);
        pos_ += len + 1;
        return {reinterpret_cast<const char *>(start), len};
    }
    Value *make(Value::Kind kind)
    {
        arena_.emplace_back();
        arena_.back().kind = kind;
        return &arena_.back();
    }
    Value *str(std::uint64_t len)
    {
        const std::uint8_t *b = bytes(len);
        Value *v = make(Value::Str);
        v->s.assign(reinterpret_cast<const char *>(b), static_cast<std::size_t>(len));
        return v;
    }
    Value *integer(std::int64_t i)
    {
        Value *v = make(Value::Int);
        v->i = i;
        return v;
    }
    Value *sequence(Value::Kind kind, std::vector<Value *> items)
    {
        Value *v = make(kind);
        v->items = std::move(items);
        return v;
    }
    void push(Value *v)
    {
        if (stack_.size() >= kMaxStack)
            refuse("a pickle stack deeper than " + std::to_string(kMaxStack));
        stack_.push_back(v);
    }
    Value *pop()
    {
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
            corrupt("pop from an empty pickle stack");
        Value *v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value *top()
    {
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
            corrupt("empty pickle stack");
        return stack_.back();
    }
    std::vector<Value *> popMark()
    {
        if (marks_.empty())
            corrupt("no MARK");
        const std::size_t m = marks_.back();
        marks_.pop_back();
        std::vector<Value *> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
        stack_.resize(m);
        return items;
    }
    static Value *list(Value *v)
    {
        if (v->kind != Value::List)
            corrupt("APPEND to something other than a list");
        return v;
    }
    static Value *dictOf(Value *v)
    {
        if (v->kind != Value::Dict)
            corrupt("SETITEM on something other than a dict");
        return v;
    }
    void memoize(std::uint64_t index)
    {
        if (index >= kMaxMemo)
            refuse("a memo index over " + std::to_string(kMaxMemo));
        memo_[index] = top();
    }
    Value *recall(std::uint64_t index)
    {
        const auto it = memo_.find(index);
        if (it == memo_.end())
            corrupt("memo entry " + std::to_string(index) + " read before it was written");
        return it->second;
    }
    Value *global(const std::string &name)
    {
        if (!allowedGlobal(name))
            refuse("refused the global '" + name + "': a weights file may only name tensors, storages and OrderedDict "
                   "(nothing was run)");
        Value *v = make(Value::Global);
        v->s = name;
        return v;
    }
    static std::int64_t intOf(const Value *v, const char *what)
    {
        if (v->kind != Value::Int && v->kind != Value::Bool)
            corrupt(std::string(what) + " is not an integer");
        return v->i;
    }
    Value *persistent(const Value *pid)
    {
        // ('storage', storage type, key, location, numel)
        if (pid->kind != Value::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Value::Str || pid->items[0]->s != "storage")
            corrupt("a persistent id that is not a storage");
        const Value *type = pid->items[1];
        if (type->kind != Value::Global)
            corrupt("a storage without a storage type");
        Value *v = make(Value::Storage);
        bool known = false;
        for (const auto &s : kStorages)
            if (type->s == s.name) {
                v->dtype = s.dtype;
                known = true;
            }
        if (!known)
            refuse("'" + type->s + "' is not a storage type");
        if (pid->items[2]->kind != Value::Str)
            corrupt("a storage key that is not a string");
        v->s = pid->items[2]->s;
        v->numel = intOf(pid->items[4], "a storage size");
        if (v->numel < 0)
            corrupt("a negative storage size");
        return v;
    }
    static std::vector<std::int64_t> ints(const Value *v, const char *what)
    {
        if (v->kind != Value::Tuple && v->kind != Value::List)
            corrupt(std::string(what) + " is not a tuple");
        if (v->items.size() > kMaxDims)
            refuse(std::string("more than ") + std::to_string(kMaxDims) + " dimensions");
        std::vector<std::int64_t> out;
        for (const Value *x : v->items) {
            out.push_back(intOf(x, what));
            if (out.back() < 0)
                corrupt(std::string("a negative value in ") + what);
        }
        return out;
    }
    Value *reduce(Value *callable, Value *args)
    {
        if (callable->kind != Value::Global || args->kind != Value::Tuple)
            corrupt("REDUCE without a global and a tuple");
        const std::string &name = callable->s;
        const auto &a = args->items;
        if (name == "collections.OrderedDict") {
            if (!a.empty())
                refuse("OrderedDict built from arguments");
            return make(Value::Dict);
        }
        if (name == "torch._utils._rebuild_tensor_v2") {
            if (a.size() < 6 || a.size() > 7 || a[0]->kind != Value::Storage)
                corrupt("_rebuild_tensor_v2 with unexpected arguments");
            Value *t = make(Value::Tensor);
            t->storage = a[0];
            t->dtype = a[0]->dtype;
            t->offset = intOf(a[1], "a storage offset");
            t->shape = ints(a[2], "a tensor size");
            t->stride = ints(a[3], "a tensor stride");
            if (t->offset < 0 || t->shape.size() != t->stride.size())
                corrupt("a tensor whose size and stride disagree");
            return t;
        }
        if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
            if (a.size() < 3 || a[0]->kind != Value::Tensor)
                corrupt("_rebuild_parameter without a tensor");
            return a[0];
        }
        refuse("'" + name + "' cannot be called (only tensors and dicts are rebuilt)");
    }

    const std::uint8_t *p_;
    std::size_t n_;
    std::size_t pos_ = 0;
    std::deque<Value> arena_;
    std::vector<Value *> stack_;
    std::vector<std::size_t> marks_;
    std::map<std::uint64_t, Value *> memo_;
};

// Multiplies non-negative values; false on overflow.
bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t &out)
{
    if (a && b > std::numeric_limits<std::uint64_t>::max() / a)
        return false;
    out = a * b;
    return true;
}

} // namespace

void TorchCheckpoint::parse()
{
    if (size_ >= 2 && base_[0] == 0x80 && base_[1] == 0x02)
        refuse("the pre-1.6 torch.save format is not read: save it again with a current torch.save, or convert it to .safetensors");
    std::map<std::string, detail::ZipEntry> entries;
    try {
        entries = detail::readStoredZip(base_, size_);
    } catch (const detail::ZipError &e) {
        if (e.unsupported)
            refuse(e.what());
        corrupt(e.what());
    }
    std::string prefix;
    const detail::ZipEntry *pickle = nullptr;
    for (const auto &[name, entry] : entries) {
        const auto slash = name.find('/');
        if (slash != std::string::npos && name.compare(slash + 1, std::string::npos, "data.pkl") == 0) {
            if (pickle)
                corrupt("two data.pkl entries");
            pickle = &entry;
            prefix = name.substr(0, slash + 1);
        }
    }
    if (!pickle)
        refuse("a zip without data.pkl (not a torch.save checkpoint)");
    Machine machine(pickle->data, static_cast<std::size_t>(pickle->size));
    const Value *root = machine.run();
    if (root->kind == Value::Dict)
        for (const auto &[k, v] : root->dict)
            if (k->kind == Value::Str && k->s == "state_dict" && v->kind == Value::Dict)
                root = v;

    std::uint64_t copied = 0;
    const std::uint64_t copyLimit = 2 * static_cast<std::uint64_t>(size_) + (std::uint64_t(1) << 30);
    auto addTensor = [&](const std::string &name, const Value *t) {
        const Value *storage = t->storage;
        const auto entry = entries.find(prefix + "data/" + storage->s);
        if (entry == entries.end())
            corrupt("tensor " + name + ": no storage entry data/" + storage->s);
        const std::uint64_t element = dtypeSize(t->dtype);
        std::uint64_t storageBytes = 0;
        if (!mul(static_cast<std::uint64_t>(storage->numel), element, storageBytes) || storageBytes > entry->second.size)
            corrupt("tensor " + name + ": its storage is larger than its entry");
        std::uint64_t numel = 1, extent = 0;
        for (std::size_t d = 0; d < t->shape.size(); ++d) {
            std::uint64_t span = 0;
            if (!mul(numel, static_cast<std::uint64_t>(t->shape[d]), numel)
                || (t->shape[d] && !mul(static_cast<std::uint64_t>(t->shape[d] - 1), static_cast<std::uint64_t>(t->stride[d]), span))
                || extent + span < extent)
                corrupt("tensor " + name + ": size overflows");
            extent += span;
        }
        if (numel && (static_cast<std::uint64_t>(t->offset) + extent < extent
                      || static_cast<std::uint64_t>(t->offset) + extent >= static_cast<std::uint64_t>(storage->numel)))
            corrupt("tensor " + name + " reaches past its storage");
        TensorView view;
        view.name = name;
        view.dtype = t->dtype;
        view.shape = t->shape;
        view.bytes = static_cast<std::size_t>(numel * element);
        const std::uint8_t *first = entry->second.data + static_cast<std::uint64_t>(t->offset) * element;
        bool contiguous = true;
        std::int64_t expected = 1;
        for (std::size_t d = t->shape.size(); d-- > 0;) {
            if (t->shape[d] != 1 && t->stride[d] != expected)
                contiguous = false;
            expected *= t->shape[d];
        }
        if (numel == 0) {
            view.data = entry->second.data;
        } else if (contiguous) {
            view.data = first;
        } else {
            copied += view.bytes;
            if (copied > copyLimit)
                refuse("strided tensors that would take more memory than the file");
            auto &buffer = copies_.emplace_back(view.bytes);
            std::vector<std::int64_t> index(t->shape.size(), 0);
            for (std::uint64_t k = 0; k < numel; ++k) {
                std::uint64_t at = 0;
                for (std::size_t d = 0; d < index.size(); ++d)
                    at += static_cast<std::uint64_t>(index[d] * t->stride[d]);
                std::memcpy(buffer.data() + k * element, first + at * element, element);
                for (std::size_t d = index.size(); d-- > 0;) {
                    if (++index[d] < t->shape[d])
                        break;
                    index[d] = 0;
                }
            }
            view.data = buffer.data();
        }
        if (!tensors_.emplace(name, std::move(view)).second)
            corrupt("two tensors named " + name);
    };
    // Tensors by their path of keys and indices.
    auto walk = [&](auto &&self, const Value *v, const std::string &path, int depth) -> void {
        if (depth > kMaxDepth)
            refuse("dicts nested deeper than " + std::to_string(kMaxDepth));
        auto child = [&](const std::string &key) { return path.empty() ? key : path + "." + key; };
        switch (v->kind) {
        case Value::Tensor: addTensor(path.empty() ? std::string("tensor") : path, v); break;
        case Value::Dict:
            for (const auto &[k, item] : v->dict) {
                if (k->kind == Value::Str)
                    self(self, item, child(k->s), depth + 1);
                else if (k->kind == Value::Int)
                    self(self, item, child(std::to_string(k->i)), depth + 1);
            }
            break;
        case Value::List:
        case Value::Tuple:
            for (std::size_t k = 0; k < v->items.size(); ++k)
                self(self, v->items[k], child(std::to_string(k)), depth + 1);
            break;
        default: break;   // numbers, strings, None: not weights
        }
    };
    walk(walk, root, "", 0);
    for (const auto &[name, view] : tensors_)
        names_.push_back(name);
}

TorchCheckpoint TorchCheckpoint::open(const std::string &path)
{
    TorchCheckpoint c;
    c.path_ = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw IoError(IoErrorKind::Unreadable, path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError(IoErrorKind::Unreadable, path, "not a regular file");
    }
    if (st.st_size == 0) {
        ::close(fd);
        throw IoError(IoErrorKind::Empty, path, "empty file");
    }
    void *mapped = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (mapped == MAP_FAILED)
        throw IoError(IoErrorKind::Unreadable, path, "cannot map the file");
    c.base_ = static_cast<const std::uint8_t *>(mapped);
    c.size_ = static_cast<std::size_t>(st.st_size);
    c.mapped_ = true;
    try {
        c.parse();
    } catch (const Bad &b) {
        throw IoError(b.kind, path, b.what);
    }
    return c;
}

TorchCheckpoint TorchCheckpoint::fromBytes(std::vector<std::uint8_t> bytes, const std::string &label)
{
    TorchCheckpoint c;
    c.path_ = label;
    if (bytes.empty())
        throw IoError(IoErrorKind::Empty, label, "empty file");
    c.owned_ = std::move(bytes);
    c.base_ = c.owned_.data();
    c.size_ = c.owned_.size();
    try {
        c.parse();
    } catch (const Bad &b) {
        throw IoError(b.kind, label, b.what);
    }
    return c;
}

void TorchCheckpoint::release() noexcept
{
    if (mapped_ && base_)
        ::munmap(const_cast<std::uint8_t *>(base_), size_);
    base_ = nullptr;
    size_ = 0;
    mapped_ = false;
}

TorchCheckpoint::TorchCheckpoint(TorchCheckpoint &&o) noexcept { *this = std::move(o); }

TorchCheckpoint &TorchCheckpoint::operator=(TorchCheckpoint &&o) noexcept
{
    if (this == &o)
        return *this;
    release();
    path_ = std::move(o.path_);
    // A vector's buffer survives the move, so views into owned_ stay valid.
    owned_ = std::move(o.owned_);
    base_ = o.base_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    copies_ = std::move(o.copies_);
    tensors_ = std::move(o.tensors_);
    names_ = std::move(o.names_);
    o.base_ = nullptr;
    o.size_ = 0;
    o.mapped_ = false;
    return *this;
}

TorchCheckpoint::~TorchCheckpoint() { release(); }

const TensorView &TorchCheckpoint::tensor(const std::string &name) const
{
    const auto it = tensors_.find(name);
    if (it == tensors_.end())
        throw IoError(IoErrorKind::Corrupt, path_, "no tensor named " + name);
    return it->second;
}

bool looksLikeTorchCheckpoint(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, 4) && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

} // namespace diffss
