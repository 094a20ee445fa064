# A small module: inputs, a resource, an output.

variable "name" {
  type = string
}

variable "directory" {
  type = string
}

resource "local_file" "hello" {
  filename = "${var.directory}/hello.txt"
  content  = "Hello, ${var.name}!\n"
}

output "text" {
  value = trimspace(local_file.hello.content)
}
