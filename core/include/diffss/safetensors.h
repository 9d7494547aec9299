#pragma once

// Reading and writing .safetensors files: an 8-byte little-endian header
// length N, N bytes of JSON describing each tensor (dtype, shape, byte range
// in the data buffer, optional "__metadata__" of strings), then the data
// buffer. Plain C++; the reader memory-maps the file and validates the whole
// header before handing out any tensor.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace diffss {

// Element types a safetensors file can hold (the ones this project reads).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

// Bytes per element: 8, 4, 2, 2, 8, 4, 2, 1, 1, 1.
std::size_t dtypeSize(DType dtype);

// The name the format uses: "F64", "F32", "F16", "BF16", "I64", ..., "BOOL".
const char *toString(DType dtype);

// One tensor inside an open file. `data` points into the file's mapping and
// stays valid while the SafetensorsFile lives (it need not be aligned).
struct TensorView {
    std::string name;                 // the key in the header
    DType dtype = DType::F32;         // element type
    std::vector<std::int64_t> shape;  // dimensions, outermost first; empty for a scalar
    const std::uint8_t *data = nullptr; // first byte (little-endian elements)
    std::size_t bytes = 0;            // numel() * dtypeSize(dtype)

    // Product of the dimensions (1 for a scalar, 0 if any dimension is 0).
    std::int64_t numel() const;
};

// A read-only, memory-mapped .safetensors file whose header has been checked:
// every tensor's range lies inside the file, matches its dtype and shape, and
// the ranges tile the data buffer exactly. Movable, not copyable.
class SafetensorsFile {
public:
    // Maps and validates the file. Throws IoError naming the path: Unreadable
    // (cannot open or map), Empty (0 bytes), TooLarge (header over 100 MiB),
    // Unsupported (a dtype the format defines but we do not read, e.g. U32),
    // Corrupt (anything malformed, with the specific problem). Entries must
    // hold exactly "dtype", "shape" and "data_offsets"; repeated keys are
    // rejected. The file must not be truncated while open (SIGBUS).
    static SafetensorsFile open(const std::string &path);

    SafetensorsFile(SafetensorsFile &&other) noexcept;            // takes over the mapping
    SafetensorsFile &operator=(SafetensorsFile &&other) noexcept; // unmaps its own first
    SafetensorsFile(const SafetensorsFile &) = delete;
    SafetensorsFile &operator=(const SafetensorsFile &) = delete;
    ~SafetensorsFile(); // unmaps the file; views into it become invalid

    // Tensor names, sorted.
    const std::vector<std::string> &names() const { return names_; }
    // Whether the file holds a tensor of that name.
    bool contains(const std::string &name) const;
    // The named tensor; throws IoError (Corrupt) naming file and tensor if absent.
    const TensorView &tensor(const std::string &name) const;
    // The "__metadata__" strings (empty if the file has none).
    const std::map<std::string, std::string> &metadata() const { return metadata_; }
    // The path the file was opened from.
    const std::string &path() const { return path_; }
    // Size of the whole file in bytes.
    std::size_t fileSize() const { return size_; }
    // First byte of the mapped file (fileSize() bytes), e.g. to check views against it.
    const std::uint8_t *mapping() const { return base_; }

private:
    SafetensorsFile() = default;
    void release() noexcept;                        // unmaps, leaving an empty object
    void takeFrom(SafetensorsFile &other) noexcept; // moves other's state here

    std::string path_;
    const std::uint8_t *base_ = nullptr;
    std::size_t size_ = 0;
    std::map<std::string, TensorView> tensors_;
    std::vector<std::string> names_;
    std::map<std::string, std::string> metadata_;
};

// The tensor's elements converted to float (F16/BF16 exactly, F64 and wide
// integers rounded, BOOL as 0/1). Assumes a little-endian host.
std::vector<float> toFloat32(const TensorView &tensor);

// IEEE half-precision bits to float, with subnormals, infinities and NaN.
float halfToFloat(std::uint16_t bits);
// bfloat16 bits to float (the upper half of a float).
float bfloat16ToFloat(std::uint16_t bits);

// A tensor to write: `bytes` at `data` must be numel(shape) * dtypeSize(dtype)
// little-endian elements.
struct TensorRecord {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    const void *data = nullptr;
    std::size_t bytes = 0;
};

// The complete file as bytes: header padded with spaces to a multiple of 8,
// data in the order given. Throws std::invalid_argument for a record whose
// bytes do not match its shape and dtype, a negative dimension, an empty,
// duplicate or reserved ("__metadata__") name, or text that is not UTF-8.
std::vector<std::uint8_t> serializeSafetensors(const std::vector<TensorRecord> &tensors,
                                               const std::map<std::string, std::string> &metadata = {});

// serializeSafetensors() written atomically (temporary file, then rename):
// std::invalid_argument for bad records, IoError (WriteFailed) if writing fails.
void writeSafetensors(const std::string &path, const std::vector<TensorRecord> &tensors,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace diffss
