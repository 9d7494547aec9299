#pragma once
// Reading and writing the parts of an ONNX model file that hold weights and
// name them, without running anything: the graph's nodes (name, operator,
// inputs, outputs, attributes), its initialisers (name, type, shape, data),
// its inputs and outputs. A small reader of the protobuf wire format, checked
// at every length and count; fields it does not need (value_info, doc
// strings, training info, functions) are skipped when reading and not written.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace diffss {

// TensorProto.DataType values this code handles.
enum class OnnxType : int {
    Undefined = 0, Float = 1, Uint8 = 2, Int8 = 3, Uint16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
    Bool = 9, Float16 = 10, Double = 11, Uint32 = 12, Uint64 = 13, BFloat16 = 16,
};
// Bytes per element (0 for types not handled, e.g. strings).
std::size_t onnxTypeSize(OnnxType type);
const char *toString(OnnxType type);   // "FLOAT", "FLOAT16", ...

// A tensor: `data` holds numel() little-endian elements whatever field of
// the file held them (raw_data, float_data, int32_data, int64_data ...).
struct OnnxTensor {
    std::string name;
    OnnxType type = OnnxType::Float;
    std::vector<std::int64_t> dims;
    std::vector<std::uint8_t> data;

    std::int64_t numel() const;
    // The elements as float (FLOAT16 and BFLOAT16 exactly, wider types rounded).
    std::vector<float> toFloat32() const;
};

struct OnnxAttribute {
    enum class Kind { Float = 1, Int = 2, String = 3, Tensor = 4, Floats = 6, Ints = 7, Other = 0 };
    std::string name;
    Kind kind = Kind::Other;
    float f = 0;
    std::int64_t i = 0;
    std::string s;
    std::vector<float> floats;
    std::vector<std::int64_t> ints;
    std::vector<OnnxTensor> tensor;   // one element for Kind::Tensor
};

struct OnnxNode {
    std::string name;
    std::string opType;
    std::string domain;
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::vector<OnnxAttribute> attributes;

    // The attribute of that name, or nullptr.
    const OnnxAttribute *attribute(const std::string &attributeName) const;
};

// A graph input or output: element type and shape (-1 for a symbolic dimension).
struct OnnxValueInfo {
    std::string name;
    OnnxType type = OnnxType::Float;
    std::vector<std::int64_t> dims;
};

struct OnnxModel {
    std::int64_t irVersion = 8;
    std::string producerName;
    std::string producerVersion;
    std::vector<std::pair<std::string, std::int64_t>> opsets;   // (domain, version)
    std::string graphName;
    std::vector<OnnxNode> nodes;
    std::vector<OnnxTensor> initializers;
    std::vector<OnnxValueInfo> inputs;    // graph inputs that are not initialisers
    std::vector<OnnxValueInfo> outputs;

    // The initialiser of that name, or nullptr.
    const OnnxTensor *initializer(const std::string &name) const;
};

// Parses a model held in memory; `path` only names it in errors. Throws
// IoError (Empty, Corrupt with the problem, Unsupported for external data,
// string tensors or sparse initialisers, TooLarge for a tensor over 4 GiB).
OnnxModel parseOnnx(const std::uint8_t *data, std::size_t size, const std::string &path);
// Reads and parses a file (IoError Unreadable when it cannot be read).
OnnxModel readOnnx(const std::string &path);

// The model as ONNX bytes (ir_version, producer, opsets, graph with nodes,
// initialisers as raw_data, inputs, outputs).
std::vector<std::uint8_t> serializeOnnx(const OnnxModel &model);
// serializeOnnx() written atomically; IoError (WriteFailed) on failure.
void writeOnnx(const std::string &path, const OnnxModel &model);

// The same model computing in fp32: FLOAT16 initialisers and constants
// become FLOAT, Cast nodes to FLOAT16 cast to FLOAT, FLOAT16 inputs and
// outputs become FLOAT, and the nodes are put in an order where every value
// is made before it is used. For runtimes that read only fp32 models.
OnnxModel withFloat32Weights(OnnxModel model);

} // namespace diffss
