#pragma once
// A value or an error code, for the services' APIs: fs::Result<T> and
// net::Result<T> are this with their own error enum. E must have kOk.
// T must be default-constructible and cheap to copy; this is SerenityOS's
// ErrorOr<T> without the move-only machinery.

namespace uk {

// TRY(expression): the value of a Result, or return its error from the
// enclosing function (whose return type must accept an E: a Result<U, E>
// or E itself). A GNU statement expression, which GCC and Clang both have.
//   Result<uint32_t> number = TRY(Lookup(path));
#define TRY(expression)                                    \
  ({                                                       \
    auto uk_try_result_ = (expression);                    \
    if (!uk_try_result_.ok()) return uk_try_result_.error(); \
    uk_try_result_.value();                                \
  })

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(value), error_(E::kOk) {}  // NOLINT: implicit
  Result(E error) : error_(error) {}                  // NOLINT: implicit

  bool ok() const { return error_ == E::kOk; }
  E error() const { return error_; }
  // Only meaningful when ok().
  const T& value() const { return value_; }
  T& value() { return value_; }

 private:
  T value_{};
  E error_;
};

}  // namespace uk
