// myco::TlsStream: a TLS connection on an Asio TCP socket, with OpenSSL reading and writing the
// socket itself (a small BIO over send/recv) instead of through buffers of its own.
//
// Why not boost::asio::ssl::stream: that one runs OpenSSL over a BIO pair and copies through two
// more record buffers, so every link holds four 17 KB buffers (68 KB) for its whole life, zeroed
// up front or filled as records pass. Idle nodes are mostly these buffers once they have a few
// dozen links (an early node in `myco up` has 40+), so here OpenSSL reads the kernel socket
// directly and, with SSL_MODE_RELEASE_BUFFERS, holds no record buffer between records.
//
// The interface is the subset the transport uses, with the same semantics as Asio's: handlers
// run on the socket's executor and never inside the initiating call, one read and one write may
// be in flight at once (OpenSSL allows interleaved SSL_read/SSL_write on one thread), and
// closing the socket (lowest_layer().close()) aborts pending operations with
// operation_aborted. Errors map like Asio's: a clean close_notify is eof, EOF without it is
// ssl::error::stream_truncated, OpenSSL errors carry asio's ssl category (same messages).
// Single-threaded, like the rest of the transport.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <cstddef>
#include <utility>

namespace myco {

class TlsStream {
 public:
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;

  // SSL_new on `context`; a failure (out of memory) surfaces as an error of the handshake.
  TlsStream(tcp::socket socket, boost::asio::ssl::context& context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  tcp::socket& lowest_layer() { return socket_; }
  SSL* native_handle() { return ssl_; }
  tcp::socket::executor_type get_executor() { return socket_.get_executor(); }

  // handler(error_code). The socket must be connected.
  template <typename Handler>
  void async_handshake(boost::asio::ssl::stream_base::handshake_type type, Handler handler) {
    auto done = [handler = std::move(handler)](const error_code& ec, size_t) mutable {
      handler(ec);
    };
    if (error_code ec = Attach(type); ec) {
      Complete(std::move(done), ec, 0, /*initiating=*/true);
      return;
    }
    Perform(
        [this](size_t& n) {
          n = 0;
          return ::SSL_do_handshake(ssl_) == 1;
        },
        std::move(done), /*initiating=*/true);
  }

  // handler(error_code, bytes): at least one byte of plaintext, or an error.
  template <typename Handler>
  void async_read_some(boost::asio::mutable_buffer buffer, Handler handler) {
    Perform([this, buffer](
                size_t& n) { return ::SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n) == 1; },
            std::move(handler), /*initiating=*/true);
  }

  // handler(error_code, bytes): all of `buffer` written, or an error after `bytes` of it. The
  // buffer must stay valid and unchanged until the handler runs.
  template <typename Handler>
  void async_write(boost::asio::const_buffer buffer, Handler handler) {
    WriteFrom(buffer, 0, std::move(handler), /*initiating=*/true);
  }

 private:
  // Sets up the socket BIO and the role; an error if there is no SSL or socket.
  error_code Attach(boost::asio::ssl::stream_base::handshake_type type);
  // The error of a failed SSL_* call (SSL_get_error's `reason`), in Asio's terms.
  error_code ErrorOf(int reason);
  bool Usable() const { return ssl_ != nullptr && attached_ && socket_.is_open(); }

  template <typename Handler>
  void Complete(Handler handler, const error_code& ec, size_t n, bool initiating) {
    if (initiating) {
      boost::asio::post(socket_.get_executor(),
                        [handler = std::move(handler), ec, n]() mutable { handler(ec, n); });
    } else {
      handler(ec, n);
    }
  }

  // Calls `call` (an SSL_*_ex wrapper: true on success, bytes in its argument) until it
  // succeeds or fails for good, waiting on the socket whenever OpenSSL wants to read or write.
  template <typename Call, typename Handler>
  void Perform(Call call, Handler handler, bool initiating) {
    if (!Usable()) {
      Complete(std::move(handler), boost::asio::error::bad_descriptor, 0, initiating);
      return;
    }
    ::ERR_clear_error();
    last_errno_ = 0;
    size_t n = 0;
    const bool ok = call(n);
    if (ok) {
      Complete(std::move(handler), error_code(), n, initiating);
      return;
    }
    const int reason = ::SSL_get_error(ssl_, 0);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
      socket_.async_wait(
          reason == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write,
          [this, call = std::move(call),
           handler = std::move(handler)](const error_code& ec) mutable {
            if (ec) {
              handler(ec, size_t{0});
              return;
            }
            Perform(std::move(call), std::move(handler), /*initiating=*/false);
          });
      return;
    }
    Complete(std::move(handler), ErrorOf(reason), 0, initiating);
  }

  template <typename Handler>
  void WriteFrom(boost::asio::const_buffer buffer, size_t done, Handler handler, bool initiating) {
    if (done == buffer.size()) {
      Complete(std::move(handler), error_code(), done, initiating);
      return;
    }
    Perform(
        [this, buffer, done](size_t& n) {
          return ::SSL_write_ex(ssl_, static_cast<const char*>(buffer.data()) + done,
                                buffer.size() - done, &n) == 1;
        },
        [this, buffer, done, handler = std::move(handler)](const error_code& ec, size_t n) mutable {
          if (ec) {
            handler(ec, done + n);
            return;
          }
          WriteFrom(buffer, done + n, std::move(handler), /*initiating=*/false);
        },
        initiating);
  }

  friend struct TlsStreamBio;
  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  bool attached_ = false;
  int last_errno_ = 0;  // of the last failed send/recv, for SSL_ERROR_SYSCALL
};

}  // namespace myco
