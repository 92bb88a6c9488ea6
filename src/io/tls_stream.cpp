#include "io/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace myco {

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a connection the peer
// has closed; this one uses send(MSG_NOSIGNAL), like Asio, and remembers errno for ErrorOf.
struct TlsStreamBio {
  static TlsStream* Stream(BIO* bio) { return static_cast<TlsStream*>(BIO_get_data(bio)); }

  static bool Retryable(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
  }

  static int Write(BIO* bio, const char* data, int size) {
    TlsStream* stream = Stream(bio);
    BIO_clear_retry_flags(bio);
    const ssize_t n =
        ::send(stream->socket_.native_handle(), data, static_cast<size_t>(size), MSG_NOSIGNAL);
    if (n < 0) {
      stream->last_errno_ = errno;
      if (Retryable(errno)) BIO_set_retry_write(bio);
      return -1;
    }
    return static_cast<int>(n);
  }

  static int Read(BIO* bio, char* data, int size) {
    TlsStream* stream = Stream(bio);
    BIO_clear_retry_flags(bio);
    const ssize_t n = ::recv(stream->socket_.native_handle(), data, static_cast<size_t>(size), 0);
    if (n < 0) {
      stream->last_errno_ = errno;
      if (Retryable(errno)) BIO_set_retry_read(bio);
      return -1;
    }
    return static_cast<int>(n);  // 0: end of stream
  }

  static long Ctrl(BIO* /*bio*/, int command, long /*num*/,  // NOLINT(runtime/int)
                   void* /*ptr*/) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;  // send(2) does not buffer
  }

  static int Create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  // Made once, kept for the life of the process (OpenSSL copies nothing from it per BIO).
  static const BIO_METHOD* Method() {
    static BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "myco socket");
      if (m == nullptr) return m;
      BIO_meth_set_write(m, Write);
      BIO_meth_set_read(m, Read);
      BIO_meth_set_ctrl(m, Ctrl);
      BIO_meth_set_create(m, Create);
      return m;
    }();
    return method;
  }
};

TlsStream::TlsStream(tcp::socket socket, boost::asio::ssl::context& context)
    : socket_(std::move(socket)), ssl_(::SSL_new(context.native_handle())) {
  if (ssl_ != nullptr) {
    // Partial writes and a moving buffer: as Asio sets them. RELEASE_BUFFERS: an idle link
    // holds no record buffer.
    ::SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  }
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) ::SSL_free(ssl_);  // frees the BIO too
}

TlsStream::error_code TlsStream::Attach(boost::asio::ssl::stream_base::handshake_type type) {
  if (ssl_ == nullptr) return boost::asio::error::no_memory;
  if (!socket_.is_open()) return boost::asio::error::bad_descriptor;
  if (attached_) return boost::asio::error::already_started;
  const BIO_METHOD* method = TlsStreamBio::Method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) return boost::asio::error::no_memory;
  BIO_set_data(bio, this);
  ::SSL_set_bio(ssl_, bio, bio);  // one BIO for both directions: one reference, taken here
  error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return ec;
  if (type == boost::asio::ssl::stream_base::client) {
    ::SSL_set_connect_state(ssl_);
  } else {
    ::SSL_set_accept_state(ssl_);
  }
  attached_ = true;
  return {};
}

TlsStream::error_code TlsStream::ErrorOf(int reason) {
  if (reason == SSL_ERROR_ZERO_RETURN) return boost::asio::error::eof;  // close_notify
  if (reason == SSL_ERROR_SYSCALL) {
    if (last_errno_ != 0) {  // send/recv failed: the same error Asio would report
      ::ERR_clear_error();
      return error_code(last_errno_, boost::system::system_category());
    }
    if (const unsigned long e = ::ERR_get_error(); e != 0) {  // NOLINT(runtime/int)
      ::ERR_clear_error();
      return error_code(static_cast<int>(e), boost::asio::error::get_ssl_category());
    }
    return boost::asio::ssl::error::stream_truncated;
  }
  const unsigned long e = ::ERR_peek_error();  // NOLINT(runtime/int)
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ::ERR_clear_error();
    return boost::asio::ssl::error::stream_truncated;  // the peer closed without close_notify
  }
  if (e == 0) return boost::asio::error::fault;
  ::ERR_clear_error();
  return error_code(static_cast<int>(e), boost::asio::error::get_ssl_category());
}

}  // namespace myco
