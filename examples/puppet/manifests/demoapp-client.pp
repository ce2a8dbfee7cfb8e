# A client of the demoapp service on web1, across the group's network.
class { 'demoapp':
  greeting => 'Hello',
  server   => 'web1',
}
