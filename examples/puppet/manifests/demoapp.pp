# Every host of the demo group: install and configure demoapp.
class { 'demoapp':
  greeting => 'Hello',
}
