# The host that serves demoapp greetings on port 8080 (socket-activated by systemd).
class { 'demoapp':
  greeting => 'Hello',
  listen   => true,
}
